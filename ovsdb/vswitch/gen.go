// Package vswitch holds the Open_vSwitch database schema, version 8.3.1 as
// Open vSwitch 3.1 ships it, and the typed models generated from it for
// libovsdb clients (gvsctl, ofproto).
//
// It must not import anything from the switch: it is data and generated code.
package vswitch

//go:generate go tool modelgen --extended -p vswitch -o . vswitch.ovsschema

import _ "embed"

// SchemaJSON is the Open_vSwitch schema as JSON, byte for byte the file Open
// vSwitch 3.1 installs as vswitch.ovsschema.
//
//go:embed vswitch.ovsschema
var SchemaJSON []byte
