"""setup.py of `make wheel` (copied into build/wheel-src/): the wheel carries
libembedviz.so.1, so it is tagged for this platform, not as pure Python."""
from setuptools import setup
from setuptools.dist import Distribution


class BinaryDistribution(Distribution):
    def has_ext_modules(self):
        return True


setup(distclass=BinaryDistribution)
