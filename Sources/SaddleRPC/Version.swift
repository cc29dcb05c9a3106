/// Saddle's release version, shared by the daemon (`initialize`, `saddled --version`) and its clients.
public let saddleVersion = "0.1.0"
