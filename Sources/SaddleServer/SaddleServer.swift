// SaddleServer: placeholder until the module lands; see ARCHITECTURE.md.
