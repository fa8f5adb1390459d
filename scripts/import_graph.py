"""Measure the package's import graph: modules, layers, imports, imports back up, cycles.

Who calls it: a maintainer comparing the layout before and after a change (issue 23's
figures), and ``tests/unit/test_import_graph.py``, which keeps the working tree at no import
back up and no more cycles than it has today. Standard library only; it reads the source and
imports nothing of the package.

What it reads
    Every ``.py`` file of the installed package: the folders that ``setup.py`` maps to import
    names (``package_dir``, plus the folders named by ``find_namespace_packages(include=...)``);
    today ``core/`` is ``greenmachine``, ``gm_tui/`` is ``greenmachine.tui`` and ``profiles/``
    is ``greenmachine.profiles``. ``tests/``, ``scripts/``, ``docs/`` and ``examples/`` are not
    part of the package. The files come from the working tree, or with ``--rev REV`` from a git
    revision (``git ls-tree`` / ``git show``), whose own ``setup.py`` gives its names (at
    ``42af94d``: ``core``, ``gm_tui``, ``gm_profiles``). ``--names core=greenmachine,...``
    overrides the mapping.

What a module is
    In the main package (``greenmachine``; at ``42af94d`` ``core``) its ``__init__.py`` is one
    module, each top-level file is a module, and each sub-folder is **one** module with
    everything below it (``greenmachine.search``, ``greenmachine.errors``). Each other package
    root (the command line ``greenmachine.tui``, the profiles) is one module, as the declared
    order names ``tui`` as one layer; ``--split`` counts their files and sub-folders as modules
    too. That is how issue 23 counted 40 modules at ``42af94d``. Cycles are also counted with
    every file a module ("between files"), where the cycles inside a folder show.

What an import is
    Every ``import`` / ``from ... import`` statement, at module level or inside a function
    (counted apart), ``if TYPE_CHECKING:`` blocks included; relative imports are resolved, and
    ``from greenmachine import x`` goes to the sub-module ``x`` when there is one, else to
    ``greenmachine``'s ``__init__.py``. An edge is a distinct module -> module pair (a module's
    imports of itself are not edges). ``importlib.import_module`` with a computed name is not
    seen, nor the parent packages' ``__init__.py`` that Python runs before a sub-module.

Measures
    ``layers``: the longest chain of the graph with each cycle condensed into one node, counted
    from the ground floor (a module importing nothing of the package is on layer 1).
    ``cycles``: strongly connected components of more than one module.
    ``back up``: edges that run against the declared layer order, read from the main package's
    ``__init__.py`` docstring (the package the other roots lie in, else the one with the most
    files; ``--main`` to choose): a paragraph of the form ``a, b -> c -> d, e`` (top first; every
    item a module name relative to the main package, a module lying in the longest name that
    holds it). Edges between modules of one layer are counted apart as ``sideways``; modules the
    order does not name (the main package's own ``__init__.py``) are listed and not judged. A tree without such a paragraph has no declared order: its
    back-up count is then the edges inside cycles, and the line says so, with the fewest edges
    whose removal breaks every cycle beside it.

Usage::

    python scripts/import_graph.py                 # the working tree
    python scripts/import_graph.py --rev 42af94d   # a git revision
    python scripts/import_graph.py --verbose       # every back-up edge and cycle member, file:line
"""

from __future__ import annotations

import argparse
import ast
import re
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

REPOSITORY = Path(__file__).resolve().parents[1]
#: Repository folders that are never part of the package.
EXCLUDED_FOLDERS = ("tests", "scripts", "docs", "examples")
#: An item of the declared order: a module name relative to the main package.
_NAME = r"[A-Za-z_][\w.]*"
_LAYER = rf"{_NAME}(?:\s*,\s*{_NAME})*"
DECLARED_ORDER = re.compile(rf"^\s*{_LAYER}(?:\s*->\s*{_LAYER})+\s*$")
#: Strongly connected components up to this many modules get an exact fewest-edges count.
EXACT_FEEDBACK_LIMIT = 16


class GraphError(Exception):
    """A tree or option this script cannot measure (one line for the user)."""


# --------------------------------------------------------------------------- reading a tree


class Tree:
    """The files of the repository: the working tree at ``root`` or, with ``rev``, a git revision."""

    def __init__(self, root: Path, rev: str | None = None):
        self.root = root
        self.rev = rev
        if rev is not None and subprocess.run(
                ["git", "-C", str(root), "rev-parse", "--verify", "--quiet", f"{rev}^{{commit}}"],
                capture_output=True).returncode != 0:
            raise GraphError(f"--rev {rev}: not a commit of the git repository {root}")

    def label(self) -> str:
        """Return how the tree is named in the output."""
        return f"revision {self.rev}" if self.rev else f"working tree {self.root}"

    def files(self, folders: list[str]) -> list[str]:
        """Return every ``.py`` file under ``folders`` (POSIX paths relative to the repository root)."""
        if self.rev is None:
            found = []
            for folder in folders:
                found += [path.relative_to(self.root).as_posix() for path in (self.root / folder).rglob("*.py")
                          if "__pycache__" not in path.parts]
            return sorted(found)
        output = self._git("ls-tree", "-r", "--name-only", self.rev, "--", *folders)
        return sorted(line for line in output.splitlines() if line.endswith(".py"))

    def read(self, path: str) -> str | None:
        """Return the text of ``path``, or None when the tree has no such file."""
        if self.rev is None:
            file = self.root / path
            return file.read_text(encoding="utf-8") if file.is_file() else None
        try:
            return self._git("show", f"{self.rev}:{path}")
        except GraphError:
            return None

    def _git(self, *arguments: str) -> str:
        completed = subprocess.run(["git", "-C", str(self.root), *arguments],
                                   capture_output=True, text=True)
        if completed.returncode != 0:
            message = completed.stderr.strip().splitlines()
            raise GraphError(f"git {' '.join(arguments)} in {self.root}: {message[-1] if message else 'failed'}")
        return completed.stdout


def package_names(tree: Tree) -> dict[str, str]:
    """Return {import name: repository folder} read from the tree's ``setup.py``.

    The ``package_dir`` keyword of ``setup()`` (a literal dict, or the name of a module-level
    dict) and the top-level folders named by ``find_namespace_packages(include=[...])`` /
    ``find_packages(include=[...])``, which install under their folder's name.
    """
    text = tree.read("setup.py")
    if text is None:
        raise GraphError(f"{tree.label()} has no setup.py; pass --names FOLDER=NAME,...")
    try:
        module = ast.parse(text)
    except SyntaxError as error:
        raise GraphError(f"setup.py:{error.lineno}: cannot parse ({error.msg}); pass --names") from None
    assigned: dict[str, ast.expr] = {}
    for node in module.body:
        if isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name):
            assigned[node.targets[0].id] = node.value
    names: dict[str, str] = {}
    for node in ast.walk(module):
        if not isinstance(node, ast.Call):
            continue
        function = node.func.id if isinstance(node.func, ast.Name) else getattr(node.func, "attr", "")
        for keyword in node.keywords:
            if function == "setup" and keyword.arg == "package_dir":
                value = keyword.value
                if isinstance(value, ast.Name):
                    value = assigned.get(value.id, value)
                try:
                    mapping = ast.literal_eval(value)
                except ValueError:
                    raise GraphError("setup.py's package_dir is not a literal dict; pass --names") from None
                names.update({name: folder for name, folder in mapping.items() if name})
            if function in ("find_namespace_packages", "find_packages") and keyword.arg == "include":
                try:
                    patterns = ast.literal_eval(keyword.value)
                except ValueError:
                    continue
                for pattern in patterns:
                    top = pattern.split(".")[0].rstrip("*")
                    if top and top.isidentifier():
                        names.setdefault(top, top)
    if not names:
        raise GraphError("no package names found in setup.py; pass --names FOLDER=NAME,...")
    return names


def parse_names(text: str) -> dict[str, str]:
    """Return {import name: folder} from ``FOLDER=NAME,FOLDER=NAME``."""
    names = {}
    for item in filter(None, (part.strip() for part in text.split(","))):
        folder, equals, name = item.partition("=")
        if not equals or not folder or not name:
            raise GraphError(f"--names: {item!r} is not FOLDER=NAME")
        names[name.strip()] = folder.strip().strip("/")
    return names


# --------------------------------------------------------------------------- the graph


@dataclass(frozen=True)
class Import:
    """One resolved import statement's target: where it is written and how."""

    path: str
    line: int
    target: str
    in_function: bool
    type_checking: bool


@dataclass
class Package:
    """The package's files and their resolved imports."""

    roots: dict[str, str]  # import name -> folder
    main: str
    files: dict[str, str] = field(default_factory=dict)  # dotted file module -> path
    known: set[str] = field(default_factory=set)  # file modules and their packages
    imports: dict[str, list[Import]] = field(default_factory=dict)  # file module -> its imports
    #: {folder: [import statements naming the package, how many of them inside functions]}
    statements: dict[str, list[int]] = field(default_factory=dict)
    docstring: str = ""
    split: bool = False  # the other roots' files are modules too (else each other root is one)

    def root_of(self, name: str) -> str | None:
        """Return the longest root that ``name`` lies in, or None."""
        found = [root for root in self.roots if name == root or name.startswith(root + ".")]
        return max(found, key=len) if found else None

    def module_of(self, name: str, files: bool) -> str:
        """Return the module (a root, a root's file, or a root's sub-folder) holding ``name``."""
        if files:
            return name
        root = self.root_of(name)
        if root != self.main and not self.split:
            return root
        rest = name[len(root) + 1:].split(".") if name != root else []
        return f"{root}.{rest[0]}" if rest else root

    def resolve(self, name: str) -> str | None:
        """Return the longest known module that ``name`` starts with, or None."""
        parts = name.split(".")
        for end in range(len(parts), 0, -1):
            candidate = ".".join(parts[:end])
            if candidate in self.known:
                return candidate
        return None


def read_package(tree: Tree, names: dict[str, str] | None = None, main: str | None = None,
                 split: bool = False) -> Package:
    """Read every package file of ``tree`` and resolve its imports (``split``: see :class:`Package`)."""
    roots = names or package_names(tree)
    if main is not None and main not in roots:
        raise GraphError(f"--main {main}: not one of {', '.join(sorted(roots))}")
    folders = {folder: name for name, folder in roots.items()}
    if main is None:
        parents = [root for root in roots if any(other.startswith(root + ".") for other in roots)]
        main = parents[0] if parents else None
    package = Package(roots=roots, main=main or "", split=split)
    for path in tree.files(sorted(folder for folder in folders if folder not in EXCLUDED_FOLDERS)):
        folder = next((folder for folder in sorted(folders, key=len, reverse=True)
                       if path.startswith(folder.rstrip("/") + "/")), None)
        if folder is None:
            continue
        inner = PurePosixPath(path[len(folder.rstrip("/")) + 1:]).with_suffix("").parts
        if inner and inner[-1] == "__init__":
            inner = inner[:-1]
        dotted = ".".join((folders[folder], *inner))
        package.files[dotted] = path
        pieces = dotted.split(".")
        package.known.update(".".join(pieces[:end]) for end in range(1, len(pieces) + 1))
    if not package.files:
        raise GraphError(f"{tree.label()} has no .py file in {', '.join(sorted(folders))}")
    if not package.main:
        counts = {root: sum(package.root_of(name) == root for name in package.files) for root in roots}
        package.main = max(counts, key=counts.get)
    for dotted, path in package.files.items():
        text = tree.read(path)
        try:
            syntax = ast.parse(text, filename=path)
        except SyntaxError as error:
            raise GraphError(f"{path}:{error.lineno}: cannot parse ({error.msg})") from None
        if dotted == package.main:
            package.docstring = ast.get_docstring(syntax) or ""
        is_package = PurePosixPath(path).name == "__init__.py"
        package.imports[dotted] = _file_imports(package, syntax, dotted, path, is_package)
    return package


def _file_imports(package: Package, syntax: ast.Module, dotted: str, path: str, is_package: bool) -> list[Import]:
    found: list[Import] = []

    def visit(node: ast.AST, in_function: bool, type_checking: bool) -> None:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
            in_function = True
        if isinstance(node, ast.If) and _is_type_checking(node.test):
            for child in node.body:
                visit(child, in_function, True)
            for child in node.orelse:
                visit(child, in_function, type_checking)
            return
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            targets = _targets(package, node, dotted, is_package)
            if targets:
                counts = package.statements.setdefault(package.roots[package.root_of(dotted)], [0, 0])
                counts[0] += 1
                counts[1] += in_function
            found.extend(Import(path, node.lineno, target, in_function, type_checking) for target in targets)
            return
        for child in ast.iter_child_nodes(node):
            visit(child, in_function, type_checking)

    visit(syntax, False, False)
    return found


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")


def _targets(package: Package, node: ast.Import | ast.ImportFrom, dotted: str, is_package: bool) -> list[str]:
    """Return the package's file modules that one import statement reads."""
    if isinstance(node, ast.Import):
        return [target for alias in node.names if (target := package.resolve(alias.name))]
    if node.level:
        base_parts = dotted.split(".") if is_package else dotted.split(".")[:-1]
        base_parts = base_parts[: len(base_parts) - (node.level - 1)]
        base = ".".join(base_parts + ([node.module] if node.module else []))
    else:
        base = node.module or ""
    targets = []
    for alias in node.names:
        candidate = f"{base}.{alias.name}"
        target = candidate if alias.name != "*" and candidate in package.known else package.resolve(base)
        if target:
            targets.append(target)
    return targets


@dataclass
class Graph:
    """Modules and the edges between them, each edge with the imports that make it."""

    modules: list[str]
    edges: dict[tuple[str, str], list[Import]]

    def successors(self) -> dict[str, list[str]]:
        """Return {module: the modules it imports}."""
        result = {module: [] for module in self.modules}
        for source, target in self.edges:
            result[source].append(target)
        return result


def build_graph(package: Package, files: bool = False) -> Graph:
    """Return the module graph of ``package`` (every file a module with ``files``)."""
    modules = sorted({package.module_of(name, files) for name in package.files})
    edges: dict[tuple[str, str], list[Import]] = {}
    for name, imports in package.imports.items():
        source = package.module_of(name, files)
        for item in imports:
            target = package.module_of(item.target, files)
            if target != source:
                edges.setdefault((source, target), []).append(item)
    return Graph(modules, edges)


def strongly_connected(graph: Graph) -> list[list[str]]:
    """Return the strongly connected components of ``graph`` (Tarjan), each sorted."""
    successors = graph.successors()
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    components: list[list[str]] = []

    def connect(module: str) -> None:
        index[module] = low[module] = len(index)
        stack.append(module)
        on_stack.add(module)
        for target in successors[module]:
            if target not in index:
                connect(target)
                low[module] = min(low[module], low[target])
            elif target in on_stack:
                low[module] = min(low[module], index[target])
        if low[module] == index[module]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == module:
                    break
            components.append(sorted(component))

    limit = sys.getrecursionlimit()
    sys.setrecursionlimit(max(limit, 4 * len(graph.modules) + 100))
    try:
        for module in graph.modules:
            if module not in index:
                connect(module)
    finally:
        sys.setrecursionlimit(limit)
    return components


def layers(graph: Graph, components: list[list[str]]) -> dict[str, int]:
    """Return {module: its floor}, the longest chain below it plus one (cycles condensed)."""
    component_of = {module: number for number, members in enumerate(components) for module in members}
    below: dict[int, set[int]] = {number: set() for number in range(len(components))}
    for source, target in graph.edges:
        if component_of[source] != component_of[target]:
            below[component_of[source]].add(component_of[target])
    floor: dict[int, int] = {}
    for number in range(len(components)):  # Tarjan emits a component after all it reaches
        floor[number] = 1 + max((floor[other] for other in below[number]), default=0)
    return {module: floor[component_of[module]] for module in graph.modules}


def fewest_feedback_edges(graph: Graph, members: list[str]) -> list[tuple[str, str]]:
    """Return a fewest set of edges whose removal leaves ``members`` (one component) without a cycle.

    Exact (an ordering of the members, top first, with the fewest edges running back up, by
    dynamic programming over subsets) up to :data:`EXACT_FEEDBACK_LIMIT` members; above that a
    greedy ordering (the member imported by the fewest unplaced ones next) gives an upper bound.
    """
    count = len(members)
    position = {module: number for number, module in enumerate(members)}
    imported_by = [0] * count  # bit mask of the members importing each one
    for source, target in graph.edges:
        if source in position and target in position:
            imported_by[position[target]] |= 1 << position[source]
    full = (1 << count) - 1
    order: list[int] = []
    if count <= EXACT_FEEDBACK_LIMIT:
        # Placing ``member`` below the set ``placed`` makes its importers not yet placed run back up.
        best = [0] + [len(graph.edges) + 1] * full
        last = [0] * (full + 1)
        for placed in range(full + 1):
            for member in range(count):
                if not placed >> member & 1:
                    cost = best[placed] + (imported_by[member] & ~placed & full).bit_count()
                    after = placed | 1 << member
                    if cost < best[after]:
                        best[after], last[after] = cost, member
        placed = full
        while placed:
            order.append(last[placed])
            placed &= ~(1 << last[placed])
        order.reverse()
    else:
        remaining = set(range(count))
        while remaining:
            mask = sum(1 << member for member in remaining)
            member = min(remaining, key=lambda m: ((imported_by[m] & mask).bit_count(), members[m]))
            order.append(member)
            remaining.discard(member)
    rank = {members[member]: number for number, member in enumerate(order)}
    return sorted((source, target) for source, target in graph.edges
                  if source in rank and target in rank and rank[target] < rank[source])


def declared_order(docstring: str) -> list[list[str]] | None:
    """Return the layers (top first) declared in a docstring paragraph ``a, b -> c -> d``, or None."""
    for paragraph in re.split(r"\n\s*\n", docstring):
        text = " ".join(line.strip() for line in paragraph.splitlines())
        if text and DECLARED_ORDER.match(text):
            return [[name.strip() for name in layer.split(",")] for layer in text.split("->")]
    return None


def declared_floor(package: Package, order: list[list[str]], module: str) -> int | None:
    """Return the declared layer of ``module`` (0 = top), by the longest declared name it lies in."""
    best, best_length = None, -1
    for number, layer in enumerate(order):
        for name in layer:
            full = name if package.root_of(name) == name else f"{package.main}.{name}"
            if (module == full or module.startswith(full + ".")) and len(full) > best_length:
                best, best_length = number, len(full)
    return best


# --------------------------------------------------------------------------- the report


@dataclass
class Measures:
    """Every figure the summary prints, and the details ``--verbose`` lists."""

    label: str
    package: Package
    graph: Graph
    cycles: list[list[str]]
    floors: dict[str, int]
    file_graph: Graph
    file_cycles: list[list[str]]
    order: list[list[str]] | None
    back_up: list[tuple[str, str]]
    sideways: list[tuple[str, str]]
    undeclared: list[str]
    fewest: list[tuple[str, str]]

    @property
    def layer_count(self) -> int:
        """Return the number of floors."""
        return max(self.floors.values(), default=0)

    @property
    def only_in_functions(self) -> int:
        """Return how many edges are made only by imports inside functions."""
        return sum(all(item.in_function for item in items) for items in self.graph.edges.values())

    def summary(self) -> str:
        """Return the one-line summary of every measure."""
        declared = "" if self.order is not None else " (no declared order: edges inside cycles)"
        return (f"{self.label}: {len(self.graph.modules)} modules, {self.layer_count} layers, "
                f"{len(self.graph.edges)} imports, {len(self.back_up)} back up{declared}, "
                f"{len(self.cycles)} {_plural(len(self.cycles), 'cycle')} "
                f"({len(self.file_cycles)} between files)")

    def lines(self) -> list[str]:
        """Return one line per measure."""
        package = self.package
        names = ", ".join(f"{folder}/ = {name}" for name, folder in sorted(package.roots.items(), key=lambda x: x[1]))
        if self.order is not None:
            back = (f"{len(self.back_up)} against the order declared in "
                    f"{package.files[package.main]}'s docstring ({len(self.sideways)} sideways within a layer"
                    + (f"; not named there, not judged: {', '.join(self.undeclared)}" if self.undeclared else "")
                    + ")")
        else:
            back = (f"{len(self.back_up)}: no declared order in {package.files.get(package.main, package.main)}'s "
                    f"docstring, so every edge inside a cycle counts; {len(self.fewest)} "
                    f"{_plural(len(self.fewest), 'edge')} would break every cycle")
        return [
            f"tree: {self.label} ({names}); {len(package.files)} .py files",
            f"modules: {len(self.graph.modules)} ({package.main}'s __init__, its top-level files, each sub-folder "
            + ("as one; the same in " + ", ".join(sorted(set(package.roots) - {package.main})) if package.split
               else "as one; " + ", ".join(sorted(set(package.roots) - {package.main})) + " one each") + ")",
            f"imports: {len(self.graph.edges)} module -> module ({self.only_in_functions} only inside functions); "
            "import statements naming the package: " + "; ".join(
                f"{total} in {folder}/ ({inside} inside functions)"
                for folder, (total, inside) in sorted(package.statements.items())),
            f"layers: {self.layer_count} (longest chain, cycles condensed, ground floor = 1)",
            f"back up: {back}",
            f"cycles: {len(self.cycles)}" + "".join(f" [{', '.join(members)}]" for members in self.cycles)
            + f"; fewest edges to break them: {len(self.fewest)}",
            f"cycles between files: {len(self.file_cycles)}"
            + "".join(f" [{', '.join(members)}]" for members in self.file_cycles),
        ]

    def details(self) -> list[str]:
        """Return the ``--verbose`` lines: back-up, sideways and cycle edges with file:line, the floors."""
        edges = self.graph.edges
        lines = []
        if self.order is not None:
            lines.append("declared order (top first): " + " -> ".join(", ".join(layer) for layer in self.order))
        lines += [f"back up: {source} -> {target}  {_where(edges[source, target])}" for source, target in self.back_up]
        lines += [f"sideways: {source} -> {target}  {_where(edges[source, target])}"
                  for source, target in self.sideways]
        for graph, cycles, kind in ((self.graph, self.cycles, "modules"), (self.file_graph, self.file_cycles, "files")):
            for members in cycles:
                breaking = set(fewest_feedback_edges(graph, members))
                lines.append(f"cycle of {len(members)} {kind}: {', '.join(members)}")
                lines += [f"    {source} -> {target}  {_where(graph.edges[source, target])}"
                          + ("  [one of the fewest to break it]" if (source, target) in breaking else "")
                          for source, target in sorted(graph.edges) if source in members and target in members]
        for floor in range(self.layer_count, 0, -1):
            lines.append(f"layer {floor}: " + ", ".join(m for m in self.graph.modules if self.floors[m] == floor))
        return lines


def _plural(count: int, word: str) -> str:
    return word if count == 1 else word + "s"


def _where(items: list[Import]) -> str:
    seen = {}
    for item in items:
        key = (item.path, item.line)
        seen[key] = seen.get(key, "") or ((" (in a function)" if item.in_function else "")
                                          + (" (TYPE_CHECKING)" if item.type_checking else ""))
    return ", ".join(f"{path}:{line}{note}" for (path, line), note in seen.items())


def measure(package: Package, label: str) -> Measures:
    """Return every measure of ``package``."""
    graph = build_graph(package)
    components = strongly_connected(graph)
    cycles = [members for members in components if len(members) > 1]
    file_graph = build_graph(package, files=True)
    file_cycles = [members for members in strongly_connected(file_graph) if len(members) > 1]
    order = declared_order(package.docstring)
    back_up, sideways, undeclared = [], [], []
    if order is not None:
        floor = {module: declared_floor(package, order, module) for module in graph.modules}
        undeclared = [module for module in graph.modules if floor[module] is None]
        for source, target in sorted(graph.edges):
            if floor[source] is None or floor[target] is None:
                continue
            if floor[target] < floor[source]:
                back_up.append((source, target))
            elif floor[target] == floor[source]:
                sideways.append((source, target))
    else:
        component_of = {module: number for number, members in enumerate(cycles) for module in members}
        back_up = sorted(edge for edge in graph.edges
                         if edge[0] in component_of and component_of[edge[0]] == component_of.get(edge[1]))
    fewest = [edge for members in cycles for edge in fewest_feedback_edges(graph, members)]
    return Measures(label, package, graph, cycles, layers(graph, components), file_graph, file_cycles,
                    order, back_up, sideways, undeclared, fewest)


def main(argv: list[str] | None = None) -> int:
    """Print the summary line (and with ``--verbose`` the details); return the exit status."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rev", help="a git revision to read instead of the working tree (e.g. 42af94d)")
    parser.add_argument("--root", type=Path, default=REPOSITORY, help="the repository (default: this one)")
    parser.add_argument("--names", help="FOLDER=NAME,... instead of setup.py's (e.g. core=core,gm_tui=gm_tui)")
    parser.add_argument("--main", help="the package whose __init__ docstring declares the order")
    parser.add_argument("--split", action="store_true",
                        help="count the files and sub-folders of every package as modules, not only the main one's")
    parser.add_argument("--verbose", action="store_true", help="list back-up edges, cycles and layers with file:line")
    arguments = parser.parse_args(argv)
    try:
        tree = Tree(arguments.root, arguments.rev)
        package = read_package(tree, parse_names(arguments.names) if arguments.names else None, arguments.main,
                               arguments.split)
        measures = measure(package, arguments.rev or "working tree")
    except GraphError as error:
        print(f"import_graph: {error}", file=sys.stderr)
        return 2
    print(measures.summary())
    print("\n".join(measures.lines()))
    if arguments.verbose:
        print("\n".join(measures.details()))
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except BrokenPipeError:  # the output piped into ``head`` or the like, which stopped reading
        sys.stdout = None
        sys.exit(0)
