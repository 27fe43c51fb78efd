"""The one compiled module: stored label blocks to DVID's native format
(``voxhub.codecs._cseg_native``; everything else is in pyproject.toml). It is optional:
where no C compiler is found, voxhub installs without it and converts with numpy."""

from setuptools import Extension, setup

setup(
    ext_modules=[
        Extension(
            "voxhub.codecs._cseg_native",
            sources=["src/voxhub/codecs/_cseg_native.c"],
            extra_compile_args=["-O3", "-std=c11", "-Wall", "-Wextra", "-Wno-unused-parameter"],
            optional=True,
        )
    ]
)
