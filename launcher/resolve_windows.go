package launcher

// npm installs claude as claude.cmd; the native installer as claude.exe.
var claudeNames = []string{"claude.exe", "claude.cmd"}
