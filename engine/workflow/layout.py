"""Diagram layout for BPMN written without one (the shipped processes are hand-written XML).

bpmn-js draws only what the BPMN DI (`bpmndi:`) places, so a process without DI shows an
empty canvas. `ensure_layout(xml)` adds a simple left-to-right layered layout for every
process and embedded subprocess that has no diagram: columns by longest path from the
start (loops ignored), rows in order of discovery, boundary events on their activity's
lower edge, and each embedded subprocess drawn collapsed with its own drill-down plane.
XML that already has a diagram for a process is returned with that diagram untouched.
"""

from __future__ import annotations

from lxml import etree

BPMN = "http://www.omg.org/spec/BPMN/20100524/MODEL"
BPMNDI = "http://www.omg.org/spec/BPMN/20100524/DI"
DC = "http://www.omg.org/spec/DD/20100524/DC"
DI = "http://www.omg.org/spec/DD/20100524/DI"
_COL, _ROW, _X0, _Y0 = 170, 130, 60, 60
_SIZES = {"event": (36, 36), "gateway": (50, 50), "task": (100, 80)}
_FLOW_SKIP = {
    "sequenceFlow",
    "laneSet",
    "boundaryEvent",
    "textAnnotation",
    "association",
    "dataObject",
    "dataObjectReference",
    "dataStoreReference",
    "ioSpecification",
    "extensionElements",
    "documentation",
    "property",
}


def _local(el) -> str:
    return etree.QName(el).localname


def _size(kind: str) -> tuple[int, int]:
    if kind.endswith("Event"):
        return _SIZES["event"]
    if kind.endswith("Gateway"):
        return _SIZES["gateway"]
    return _SIZES["task"]


def _ranks(nodes: dict, flows: list[tuple[str, str, str]], boundary: dict) -> dict[str, int]:
    """Column of every node: longest path from the nodes nothing flows into, back edges ignored."""
    out: dict[str, list[str]] = {n: [] for n in nodes}
    incoming = {n: 0 for n in nodes}
    for _fid, src, dst in flows:
        if src in out and dst in nodes:
            out[src].append(dst)
            incoming[dst] += 1
    for event_id, attached in boundary.items():  # a boundary event starts where its activity sits
        if attached in out:
            out[attached].append(event_id)
    rank: dict[str, int] = {}

    def visit(node: str, depth: int, stack: set) -> None:
        if rank.get(node, -1) >= depth:
            return
        rank[node] = depth
        stack.add(node)
        for nxt in out[node]:
            if nxt not in stack:  # a loop back: does not push the target right
                step = 0 if nxt in boundary else 1
                visit(nxt, depth + step, stack)
        stack.discard(node)

    for node in nodes:
        if incoming[node] == 0 and node not in boundary:
            visit(node, 0, set())
    for node in nodes:
        if node not in rank:
            visit(node, 0, set())
    return rank


def _plane(container, plane_parent, diagram_id: str) -> None:
    nodes = {c.get("id"): _local(c) for c in container if c.get("id") and _local(c) not in _FLOW_SKIP}
    boundary = {c.get("id"): c.get("attachedToRef") for c in container if _local(c) == "boundaryEvent"}
    flows = [
        (c.get("id"), c.get("sourceRef"), c.get("targetRef"))
        for c in container
        if _local(c) == "sequenceFlow"
    ]
    all_nodes = dict(nodes, **{b: "boundaryEvent" for b in boundary})
    rank = _ranks(all_nodes, flows, boundary)
    bounds: dict[str, tuple[int, int, int, int]] = {}
    rows: dict[int, int] = {}
    for node in sorted(nodes, key=lambda n: (rank.get(n, 0), list(nodes).index(n))):
        col = rank.get(node, 0)
        row = rows.get(col, 0)
        rows[col] = row + 1
        w, h = _size(nodes[node])
        x = _X0 + col * _COL + (100 - w) // 2
        y = _Y0 + row * _ROW + (80 - h) // 2
        bounds[node] = (x, y, w, h)
    for index, (event_id, attached) in enumerate(boundary.items()):
        ax, ay, aw, ah = bounds.get(attached, (_X0, _Y0, 100, 80))
        bounds[event_id] = (ax + aw - 50 - 40 * (index % 2), ay + ah - 18, 36, 36)
    diagram = etree.SubElement(plane_parent, f"{{{BPMNDI}}}BPMNDiagram", id=f"{diagram_id}_diagram")
    plane = etree.SubElement(
        diagram, f"{{{BPMNDI}}}BPMNPlane", id=f"{diagram_id}_plane", bpmnElement=container.get("id")
    )
    for node, (x, y, w, h) in bounds.items():
        attrs = {"id": f"{node}_di", "bpmnElement": node}
        if all_nodes[node] == "subProcess":
            attrs["isExpanded"] = "false"
        shape = etree.SubElement(plane, f"{{{BPMNDI}}}BPMNShape", **attrs)
        etree.SubElement(shape, f"{{{DC}}}Bounds", x=str(x), y=str(y), width=str(w), height=str(h))
    for fid, src, dst in flows:
        if src not in bounds or dst not in bounds:
            continue
        sx, sy, sw, sh = bounds[src]
        tx, ty, tw, th = bounds[dst]
        edge = etree.SubElement(plane, f"{{{BPMNDI}}}BPMNEdge", id=f"{fid}_di", bpmnElement=fid)
        if tx > sx:
            points = [
                (sx + sw, sy + sh // 2),
                (sx + sw + 20, sy + sh // 2),
                (sx + sw + 20, ty + th // 2),
                (tx, ty + th // 2),
            ]
        else:  # a loop back: under both
            low = max(sy + sh, ty + th) + 25
            points = [
                (sx + sw // 2, sy + sh),
                (sx + sw // 2, low),
                (tx + tw // 2, low),
                (tx + tw // 2, ty + th),
            ]
        if src in boundary:
            points = [(sx + sw // 2, sy + sh), (sx + sw // 2, ty + th // 2), (tx, ty + th // 2)]
        for px, py in points:
            etree.SubElement(edge, f"{{{DI}}}waypoint", x=str(px), y=str(py))
    for child in container:
        if _local(child) == "subProcess":
            _plane(child, plane_parent, child.get("id"))


def _with_prefixes(root):
    """The root with bpmndi/dc/di declared (else lxml names each ns0, ns1, …); comments outside it go."""
    wanted = {"bpmndi": BPMNDI, "dc": DC, "di": DI}
    if all(root.nsmap.get(k) == v for k, v in wanted.items()):
        return root
    nsmap = dict(root.nsmap)
    for prefix, uri in wanted.items():
        if uri not in nsmap.values():
            nsmap[prefix if prefix not in nsmap else f"{prefix}1"] = uri
    new = etree.Element(root.tag, attrib=dict(root.attrib), nsmap=nsmap)
    new.text = root.text
    for child in list(root):
        new.append(child)
    return new


def ensure_layout(xml: str | bytes) -> str:
    """The BPMN with a diagram for every process (and embedded subprocess) that had none."""
    raw = xml.encode() if isinstance(xml, str) else xml
    root = _with_prefixes(
        etree.fromstring(raw, etree.XMLParser(remove_blank_text=False, resolve_entities=False))
    )
    drawn = {p.get("bpmnElement") for p in root.iter(f"{{{BPMNDI}}}BPMNPlane")}
    participants = {p.get("processRef") for p in root.iter(f"{{{BPMN}}}participant")}
    for process in root.iter(f"{{{BPMN}}}process"):
        if process.get("id") in drawn or process.get("id") in participants:
            continue
        _plane(process, root, process.get("id"))
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8").decode()
