"""The runtime: `trtbuild.load(path) -> Model`, frames in, detections / depth maps out (see runtime.model)."""
