package config

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"

	"gopkg.in/yaml.v3"
)

// applyFile sets every flag named in the YAML file at path that the command
// line did not set. Keys are flag names without dashes; values are scalars
// written as on the command line. Unknown keys, nested values and bad values
// are errors naming the key.
func applyFile(fs *flag.FlagSet, path string) error {
	raw, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("invalid value %q for flag --config: %w", path, err)
	}
	var doc yaml.Node
	dec := yaml.NewDecoder(bytes.NewReader(raw))
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			return nil // an empty file sets nothing
		}
		return fmt.Errorf("config file %s: %w", path, err)
	}
	if len(doc.Content) == 0 {
		return nil
	}
	m := doc.Content[0]
	if m.Kind != yaml.MappingNode {
		return fmt.Errorf("config file %s: want a mapping of flag names to values", path)
	}
	onCommandLine := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { onCommandLine[f.Name] = true })
	seen := map[string]bool{}
	for i := 0; i+1 < len(m.Content); i += 2 {
		k, v := m.Content[i], m.Content[i+1]
		key := k.Value
		if seen[key] {
			return fmt.Errorf("config file %s line %d: key %q appears twice", path, k.Line, key)
		}
		seen[key] = true
		if key == "config" || fs.Lookup(key) == nil {
			return fmt.Errorf("config file %s line %d: unknown key %q (keys are the agent's flag names, see --help)", path, k.Line, key)
		}
		if v.Kind != yaml.ScalarNode {
			return fmt.Errorf("config file %s line %d: key %q: want a single value", path, v.Line, key)
		}
		if onCommandLine[key] {
			continue
		}
		if err := fs.Set(key, v.Value); err != nil {
			return fmt.Errorf("config file %s line %d: invalid value %q for key %q: %v", path, v.Line, v.Value, key, err)
		}
	}
	return nil
}
