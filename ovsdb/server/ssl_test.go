package server_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gvswitch/gvswitch/internal/ovstest"
	"github.com/gvswitch/gvswitch/ovsdb/ovsdbtest"
	"github.com/gvswitch/gvswitch/ovsdb/server"
)

// writeCert creates a key and a certificate signed by parent (self-signed
// when parent is nil) and writes them as PEM files in dir.
func writeCert(t *testing.T, dir, name string, parent *x509.Certificate, parentKey *ecdsa.PrivateKey) (*x509.Certificate, *ecdsa.PrivateKey) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(time.Now().UnixNano()),
		Subject:      pkix.Name{CommonName: name, Organization: []string{"gvswitch test"}},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(24 * time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth},
	}
	if parent == nil {
		tmpl.IsCA, tmpl.BasicConstraintsValid = true, true
		parent, parentKey = tmpl, key
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, parent, &key.PublicKey, parentKey)
	if err != nil {
		t.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	kder, _ := x509.MarshalECPrivateKey(key)
	os.WriteFile(filepath.Join(dir, name+"-cert.pem"), pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600)
	os.WriteFile(filepath.Join(dir, name+"-privkey.pem"), pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kder}), 0o600)
	return cert, key
}

// TestSSLRemote serves pssl with the key, certificate and CA taken from
// the SSL table (as ovs-ctl configures ovsdb-server) and connects with
// Debian's ovsdb-client over ssl:.
func TestSSLRemote(t *testing.T) {
	dir := t.TempDir()
	ca, caKey := writeCert(t, dir, "ca", nil, nil)
	writeCert(t, dir, "server", ca, caKey)
	writeCert(t, dir, "client", ca, caKey)
	p := func(n string) string { return filepath.Join(dir, n) }
	sock, srv := ovsdbtest.StartWith(t, ovsdbtest.Options{Server: server.Options{
		PrivateKey:  "db:Open_vSwitch,SSL,private_key",
		Certificate: "db:Open_vSwitch,SSL,certificate",
		CACert:      "db:Open_vSwitch,SSL,ca_cert",
	}})
	ovsVsctl(t, "unix:"+sock, "--no-wait", "init", "--", "set-ssl", p("server-privkey.pem"), p("server-cert.pem"), p("ca-cert.pem"))
	if err := srv.AddRemote("pssl:0:127.0.0.1"); err != nil {
		t.Fatal(err)
	}
	addr := "ssl:" + srv.Addr("pssl:0:127.0.0.1").String()
	r := ovstest.OvsdbClient(t, "--private-key="+p("client-privkey.pem"), "--certificate="+p("client-cert.pem"),
		"--ca-cert="+p("ca-cert.pem"), "list-dbs", addr)
	if got := strings.TrimSpace(r.Stdout); !r.OK() || got != "Open_vSwitch\n_Server" {
		t.Fatalf("ovsdb-client over SSL: %s", r)
	}
}
