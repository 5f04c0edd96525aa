package server_test

import "github.com/gvswitch/gvswitch/ovsdb/vswitch"

func vswitchSchema() []byte { return vswitch.SchemaJSON }
