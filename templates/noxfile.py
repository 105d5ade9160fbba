import shipline.nox

shipline.nox.register()
