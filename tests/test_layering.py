"""How the modules of mipv6_sdn/ depend on each other (docs/architecture.md): no import
cycle, no late import, codecs one way, and a mobile-node agent that needs nothing of
the controller side."""
import ast
import pathlib
import sys

import networkx

PACKAGE = pathlib.Path(__file__).parent.parent / "mipv6_sdn"
CODECS = {"mipv6_sdn.wire", "mipv6_sdn.mobility", "mipv6_sdn.packets"}


def module_name(path):
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imported(node):
    """Project modules named by one import statement."""
    if isinstance(node, ast.Import):
        return {alias.name for alias in node.names if alias.name.startswith("mipv6_sdn")}
    if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("mipv6_sdn"):
        modules = set()
        for alias in node.names:  # ``from mipv6_sdn import mobility`` names a module
            submodule = f"{node.module}.{alias.name}"
            is_module = PACKAGE.parent.joinpath(*submodule.split(".")).with_suffix(
                ".py").exists()
            modules.add(submodule if is_module else node.module)
        return modules
    return set()


def import_graph():
    graph, late = networkx.DiGraph(), []
    for path in sorted(PACKAGE.rglob("*.py")):
        name = module_name(path)
        graph.add_node(name)
        tree = ast.parse(path.read_text())
        top = set(map(id, tree.body))
        for node in ast.walk(tree):
            graph.add_edges_from((name, module) for module in imported(node))
            if isinstance(node, (ast.Import, ast.ImportFrom)) and id(node) not in top:
                late.append(f"{name}:{node.lineno}")
    return graph, late


def test_no_import_cycle_in_the_package():
    graph, _ = import_graph()
    assert list(networkx.simple_cycles(graph)) == []


def test_no_late_import_in_the_package():
    assert import_graph()[1] == []


def test_codecs_import_one_way():
    graph, _ = import_graph()
    assert set(graph.successors("mipv6_sdn.wire")) == set()
    assert set(graph.successors("mipv6_sdn.mobility")) <= {"mipv6_sdn.wire"}
    assert set(graph.successors("mipv6_sdn.packets")) <= {"mipv6_sdn.wire",
                                                          "mipv6_sdn.mobility"}


def test_the_mobile_node_agent_imports_codecs_only():
    graph, _ = import_graph()
    agent = [m for m in graph if m.startswith("mipv6_sdn.mn")]
    assert agent
    needs = {dep for module in agent for dep in graph.successors(module)}
    assert needs - set(agent) <= CODECS


def test_the_import_graph_sees_a_cycle_and_a_late_import(tmp_path, monkeypatch):
    """Control: the checks above would notice what they look for."""
    package = tmp_path / "mipv6_sdn"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "a.py").write_text("from mipv6_sdn import b\n")
    (package / "b.py").write_text("def f():\n    from mipv6_sdn import a\n    import json\n")
    monkeypatch.setattr(sys.modules[__name__], "PACKAGE", package)
    graph, late = import_graph()
    assert ["mipv6_sdn.a", "mipv6_sdn.b"] in [sorted(c) for c in networkx.simple_cycles(graph)]
    assert late == ["mipv6_sdn.b:2", "mipv6_sdn.b:3"]


def test_the_core_never_imports_the_test_tooling():
    graph, _ = import_graph()
    users = {module for module, dep in graph.edges
             if dep.startswith("mipv6_sdn.testing") and not module.startswith("mipv6_sdn.testing")}
    assert users == set()
