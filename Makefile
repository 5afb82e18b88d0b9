# Both targets do all set-up themselves (scripts/setup.sh, idempotent); run as root.
.PHONY: setup demo test unit bench bench-handover clean-venv

setup:
	@bash scripts/setup.sh

demo: setup
	.venv/bin/python -m mininet_topos.demo

test: setup
	.venv/bin/python -m pytest -q -p no:cacheprovider tests

unit: setup
	.venv/bin/python -m pytest -q -p no:cacheprovider -m "not integration" tests

bench: setup
	.venv/bin/python -m benchmarks.report --out bench-results

bench-handover: setup
	.venv/bin/python -m benchmarks.handover --count 20

clean-venv:
	rm -rf .venv
