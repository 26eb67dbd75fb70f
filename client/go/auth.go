package voxgate

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"os"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
)

// apiKey sends "authorization: Bearer <key>" with every call, over TLS or
// plaintext alike (a local gateway may be plaintext).
type apiKey string

func (k apiKey) GetRequestMetadata(context.Context, ...string) (map[string]string, error) {
	return map[string]string{"authorization": "Bearer " + string(k)}, nil
}

func (apiKey) RequireTransportSecurity() bool { return false }

// WithAPIKey sends key with every call. Default: $VOXGATE_API_KEY when set.
func WithAPIKey(key string) Option { return func(c *config) { c.apiKey = key } }

// TLSFiles names PEM files for a TLS connection: CAFile signs the gateway's
// certificate (empty: the system's roots); CertFile and KeyFile are a client
// certificate for gateways that ask for one (mTLS).
type TLSFiles struct {
	CAFile, CertFile, KeyFile string
}

// WithTLS connects with TLS 1.2 or later.
func WithTLS(files TLSFiles) Option {
	return func(c *config) { c.tls = &files }
}

func (f TLSFiles) credentials() (credentials.TransportCredentials, error) {
	conf := &tls.Config{MinVersion: tls.VersionTLS12}
	if f.CAFile != "" {
		pem, err := os.ReadFile(f.CAFile)
		if err != nil {
			return nil, fmt.Errorf("voxgate: CA file: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("voxgate: CA file %s holds no PEM certificate", f.CAFile)
		}
		conf.RootCAs = pool
	}
	if (f.CertFile == "") != (f.KeyFile == "") {
		return nil, fmt.Errorf("voxgate: CertFile and KeyFile go together")
	}
	if f.CertFile != "" {
		pair, err := tls.LoadX509KeyPair(f.CertFile, f.KeyFile)
		if err != nil {
			return nil, fmt.Errorf("voxgate: client certificate: %w", err)
		}
		conf.Certificates = []tls.Certificate{pair}
	}
	return credentials.NewTLS(conf), nil
}

// securityOptions are the dial options for TLS and the API key.
func securityOptions(cfg config) ([]grpc.DialOption, error) {
	var opts []grpc.DialOption
	if cfg.tls != nil {
		creds, err := cfg.tls.credentials()
		if err != nil {
			return nil, err
		}
		opts = append(opts, grpc.WithTransportCredentials(creds))
	}
	key := cfg.apiKey
	if key == "" {
		key = os.Getenv("VOXGATE_API_KEY")
	}
	if key != "" {
		opts = append(opts, grpc.WithPerRPCCredentials(apiKey(key)))
	}
	return opts, nil
}
