"""A differential flame graph, as SVG: the head's call stacks, each frame as wide as its inclusive cost (the base's
where the base spent more, so that code that disappeared still shows), red where the frame itself costs more than
at the base, blue where less, grey where the same. From the folded stacks of two bytecode profiles
(``"outer;inner;innermost": own cost``), the format of Brendan Gregg's flame graphs.
"""

from __future__ import annotations

from html import escape

WIDTH, ROW, FONT = 1200, 17, 11
CHAR = FONT * 0.6  # an average character's width at this font size


def _tree(stacks: dict[str, float]) -> dict:
    root: dict = {"own": 0.0, "total": 0.0, "children": {}}
    for folded, cost in stacks.items():
        node = root
        root["total"] += cost
        for name in folded.split(";"):
            node = node["children"].setdefault(name, {"own": 0.0, "total": 0.0, "children": {}})
            node["total"] += cost
        node["own"] += cost
    return root


def _merge(base: dict, head: dict) -> dict:
    names = sorted(set(base["children"]) | set(head["children"]))
    empty = {"own": 0.0, "total": 0.0, "children": {}}
    return {"base": base, "head": head,
            "children": {name: _merge(base["children"].get(name, empty), head["children"].get(name, empty))
                         for name in names}}


def _colour(delta: float, scale: float) -> str:
    if abs(delta) < 1e-9:
        return "rgb(205,205,205)"
    strength = min(1.0, abs(delta) / scale) if scale else 1.0
    fade = int(220 - 170 * strength)
    return f"rgb(255,{fade},{fade})" if delta > 0 else f"rgb({fade},{fade},255)"


def svg(base: dict[str, float], head: dict[str, float], title: str, unit: str = "bytecodes per request") -> str:
    """The flame graph of ``head`` against ``base`` (folded stacks), as an SVG document."""
    tree = _merge(_tree(base), _tree(head))
    total = max(tree["base"]["total"], tree["head"]["total"]) or 1.0
    deltas: list[float] = []

    def collect(node: dict) -> None:
        for child in node["children"].values():
            deltas.append(abs(child["head"]["own"] - child["base"]["own"]))
            collect(child)

    collect(tree)
    scale = max(deltas, default=0.0)

    def depth_of(node: dict) -> int:
        return 1 + max((depth_of(child) for child in node["children"].values()), default=0)

    height = depth_of(tree) * ROW + 60
    boxes: list[str] = []

    def draw(node: dict, x: float, depth: int) -> None:
        y = height - 30 - (depth + 1) * ROW  # the root's children at the bottom
        for name, child in node["children"].items():
            width = max(child["head"]["total"], child["base"]["total"]) / total * (WIDTH - 20)
            if width >= 0.5:
                own = (child["base"]["own"], child["head"]["own"])
                tip = (f"{name}: {child['head']['total']:,.1f} {unit} with callees "
                       f"(base {child['base']['total']:,.1f}); itself {own[1]:,.1f} (base {own[0]:,.1f}, "
                       f"{own[1] - own[0]:+,.1f})")
                label = name if len(name) * CHAR < width - 6 else name[:max(0, int((width - 6) / CHAR) - 2)] + ".."
                text = (f'<text x="{x + 13:.1f}" y="{y + ROW - 5}">{escape(label)}</text>'
                        if width > 3 * CHAR + 6 else "")
                boxes.append(f'<g><title>{escape(tip)}</title><rect x="{x + 10:.1f}" y="{y}" width="{width:.1f}" '
                             f'height="{ROW - 1}" fill="{_colour(own[1] - own[0], scale)}" rx="2"/>{text}</g>')
                draw(child, x, depth + 1)
            x += width

    draw(tree, 0.0, 0)
    body = "\n".join(boxes)
    return (f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{height}" '
            f'font-family="monospace" font-size="{FONT}">\n'
            f'<rect width="100%" height="100%" fill="white"/>\n'
            f'<text x="10" y="18" font-size="{FONT + 3}">{escape(title)}</text>\n'
            f'<text x="10" y="{height - 10}">width: {escape(unit)} with callees, the larger of base and head; '
            'red: the frame itself costs more at head, blue: less, grey: the same</text>\n'
            f"{body}\n</svg>\n")
