"""Tasks (detect, depth, ...): one module each; see trtbuild.tasks.base for the contract."""
