"""What a notebook needs in its image, and the layer that gives it.

imports.py        what the code imports and what `%pip install` asks for (no execution)
kernel_python.py  the interpreter behind a kernel
probe.py          run *in* an interpreter: its platform, distributions, module origins
python_env.py     those facts as typed models (PythonEnvironment)
closure.py        dependency closures and `pip check`, with packaging
detect.py         imports → providers → the lock (`iota-container requirements`)
local_files.py    modules and data files beside the notebook, and --include
lock.py           the lock (pins, hashes): one codec for labels, JSON output and the API
platform.py       the base's platform (Python, ABI, libc, paths) and its label
wheels.py         pip download of the lock for that platform
dependency_layer.py  wheels installed into the base's layout, packed as one layer
layer_cache.py    dependency layers kept on the build machine by (lock, platform, base)
verify.py         imports and consistency of the image about to be pushed
packages.py       the build's one call: detect, resolve, layer, verify
"""
