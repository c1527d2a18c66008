package launcher

// WatcherCommand is the hidden subcommand that runs a registry's watcher:
// claude-guard __watcher DIR.
const WatcherCommand = "__watcher"

// WatcherIdleEnv names the environment variable that sets how long a
// watcher with no run to watch waits before it exits (a duration).
const WatcherIdleEnv = "CLAUDE_GUARD_WATCHER_IDLE"
