"""Engine backends, one module per flavor (mmdeploy's backend-manager shape): each module defines `BACKEND`, and the
registry finds it. The engine stage, the runner factory and `doctor` loop over the registry; nothing else imports a
TensorRT library or compares backend names."""
