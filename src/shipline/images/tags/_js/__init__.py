"""Rebuilt observable behaviour of the npm packages metadata-action uses.

Private to shipline.images.tags; see its docstring for what each module follows.
"""

from __future__ import annotations
