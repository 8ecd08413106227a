//go:build mage

// Magefile builds the data source backend with the Grafana plugin SDK's
// targets: `mage -v` builds gpx_netlens for every platform the SDK supports
// into dist/datasource/ (the executable is read from src/datasource/plugin.json)
// and writes dist/go_plugin_build_manifest.
package main

import (
	// mage:import
	build "github.com/grafana/grafana-plugin-sdk-go/build"
)

// Default is the SDK's buildAll target.
var Default = build.BuildAll
