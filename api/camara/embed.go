// Package camara embeds the pinned CAMARA API definitions and test plans
// that numgate's CAMARA dialect is tested against.
package camara

import "embed"

// Files holds the pinned definitions: number-verification-v2.1.0.yaml,
// number-verification-v1.0.0.yaml, the two r3.2 .feature files and
// CAMARA_common-r3.3.yaml.
//
//go:embed *.yaml *.feature
var Files embed.FS
