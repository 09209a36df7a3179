import Formats

/// An invalid network configuration: the same shape as any user-input error — the file,
/// the field (a JSON path such as `diffuser.model.num_heads`), what was expected and what
/// was found.
public typealias ConfigError = FormatError
