#!/usr/bin/python3
"""Composes the README's demo picture from a `groundlmm demo` folder: the overlay (points, masks, legend) on the
left and one phrase's heat map on the right, both scaled 2x (nearest), 16 px apart on white.

usage: /usr/bin/python3 scripts/demo-picture.py <demo folder> <heatmap index> docs/images/demo.png
(needs python3-pil)"""
import sys

from PIL import Image


def main():
    if len(sys.argv) != 4:
        sys.exit(__doc__)
    folder, index, out = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    overlay = Image.open(f"{folder}/overlay.png").convert("RGB")
    heat = Image.open(f"{folder}/heatmap-{index:02d}.png").convert("RGB")
    overlay = overlay.resize((overlay.width * 2, overlay.height * 2), Image.NEAREST)
    heat = heat.resize((heat.width * 2, heat.height * 2), Image.NEAREST)
    gap = 16
    pic = Image.new("RGB", (overlay.width + gap + heat.width, max(overlay.height, heat.height)), "white")
    pic.paste(overlay, (0, 0))
    pic.paste(heat, (overlay.width + gap, 0))
    pic.save(out, optimize=True)


if __name__ == "__main__":
    main()
