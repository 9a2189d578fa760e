"""The build: the stages, the pipeline that runs them through the cache, and the report and console that show them."""
