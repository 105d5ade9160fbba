"""The checks, one nox session each: `nox -l` lists them (rendered by `invoke init`)."""

import shipline.nox

shipline.nox.register()
