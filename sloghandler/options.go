package sloghandler

import (
	"log/slog"

	loggregator "code.cloudfoundry.org/go-loggregator"
)

// DefaultLevel is the lowest level a Handler handles unless WithLevel sets
// another.
const DefaultLevel = slog.LevelInfo

// Option configures a Handler. Options only record values; New resolves
// them once.
type Option func(*config)

// config is a Handler's resolved configuration, shared (read-only) by the
// handlers that WithAttrs and WithGroup derive.
type config struct {
	level      slog.Leveler
	sourceInfo bool
	sourceID   string
	sourceType string
	instanceID string
	levelTag   string

	sourceOpt loggregator.EmitLogOption // made once by resolve
}

// WithLevel sets the lowest level the handler handles: records below it
// are discarded and Enabled reports false for them. The default is
// DefaultLevel (slog.LevelInfo); a nil leveler selects the default. A
// *slog.LevelVar may be passed to change the level while logging.
func WithLevel(l slog.Leveler) Option {
	return func(c *config) { c.level = l }
}

// WithSourceInfo sets the source id, source type and instance id of every
// envelope, as loggregator.WithSourceInfo does: on a v2 envelope the
// source_id and instance_id fields and the tag "source_type" (set even
// when sourceType is empty); with the v1 client the log's app_id,
// source_type and source_instance. By default none of these is set (the
// Loggregator agent then substitutes its origin for an empty source_id).
// A later WithSourceInfo replaces an earlier one. The "source_type" tag
// written here wins over an attribute of the same name.
func WithSourceInfo(sourceID, sourceType, instanceID string) Option {
	return func(c *config) {
		c.sourceInfo = true
		c.sourceID, c.sourceType, c.instanceID = sourceID, sourceType, instanceID
	}
}

// WithLevelTag adds the record's level, as slog.Level.String writes it
// ("DEBUG", "INFO", "WARN", "ERROR", "ERROR+2", ...), as a tag named name.
// The default (and an empty name) adds no level tag: the envelope then
// tells only ERR (Error and above) from OUT (below Error). The level tag
// is not counted in MaxTags and wins over an attribute of the same name.
// A name longer than MaxKeyLength is truncated as attribute keys are.
func WithLevelTag(name string) Option {
	return func(c *config) { c.levelTag = name }
}

// resolve fills in defaults and clips what the limits bound.
func (c *config) resolve() {
	if c.level == nil {
		c.level = DefaultLevel
	}
	c.levelTag = clip(c.levelTag, MaxKeyLength)
	if c.sourceInfo {
		c.sourceOpt = loggregator.WithSourceInfo(c.sourceID, c.sourceType, c.instanceID)
	}
}
