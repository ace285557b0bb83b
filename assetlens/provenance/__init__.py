"""Generation provenance embedded in media files (docs/PROVENANCE.md).

`extract(path, mime)` reads a stored upload; `read_sidecar(path)` reads `.txt`/`.json`
files beside a media file at ingest. Both return a normalised `Generation` or None and
never raise for bad content.
"""

from assetlens.provenance.a1111 import parse_a1111
from assetlens.provenance.comfyui import parse_api_graph, parse_comfyui
from assetlens.provenance.detect import from_json, from_text, from_texts
from assetlens.provenance.drawthings import parse_drawthings
from assetlens.provenance.easydiffusion import parse_easydiffusion
from assetlens.provenance.extract import Extraction, extract, inspect
from assetlens.provenance.fooocus import parse_fooocus
from assetlens.provenance.invokeai import parse_dream, parse_invokeai_v2, parse_invokeai_v3
from assetlens.provenance.midjourney import parse_midjourney
from assetlens.provenance.novelai import parse_novelai
from assetlens.provenance.sidecar import read_sidecar
from assetlens.provenance.swarmui import parse_swarmui

__all__ = [
    "Extraction",
    "extract",
    "from_json",
    "from_text",
    "from_texts",
    "inspect",
    "parse_a1111",
    "parse_api_graph",
    "parse_comfyui",
    "parse_drawthings",
    "parse_dream",
    "parse_easydiffusion",
    "parse_fooocus",
    "parse_invokeai_v2",
    "parse_invokeai_v3",
    "parse_midjourney",
    "parse_novelai",
    "parse_swarmui",
    "read_sidecar",
]
