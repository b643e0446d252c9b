package config

import (
	promconfig "github.com/prometheus/common/config"
)

// setDirectory resolves every relative file path of the HTTP sources
// against dir, the config file's folder, as Prometheus, Alertmanager and
// blackbox_exporter do: password_file, bearer_token_file, credentials_file,
// client_secret_file, TLS ca/cert/key files, header files, and the managed
// stores' secret_key_file, credentials_file and token files. The client
// and the secret scrubber then read the same files, wherever the exporter
// was started from.
func (s *Sources) setDirectory(dir string) {
	for _, src := range []*HTTPSource{s.Prometheus, s.Loki} {
		if src == nil {
			continue
		}
		src.setAuthDirectory(dir)
		h := &src.HTTPClientConfig
		h.SetDirectory(dir)
		// prometheus/common's SetDirectory leaves the oauth2 JWT grant's
		// key file alone.
		if h.OAuth2 != nil {
			h.OAuth2.ClientCertificateKeyFile = promconfig.JoinDir(dir, h.OAuth2.ClientCertificateKeyFile)
		}
	}
}
