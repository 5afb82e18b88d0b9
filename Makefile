# Both targets do all set-up themselves (scripts/setup.sh, idempotent); run as root.
.PHONY: setup demo test unit clean-venv

setup:
	@bash scripts/setup.sh

demo: setup
	.venv/bin/python -m mininet_topos.demo

test: setup
	.venv/bin/python -m pytest -q -p no:cacheprovider tests

unit: setup
	.venv/bin/python -m pytest -q -p no:cacheprovider -m "not integration" tests

clean-venv:
	rm -rf .venv
