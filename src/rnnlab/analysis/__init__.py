"""Analysis: probes that read caches and traces, and the figures drawn from them.
The only package that imports matplotlib."""
