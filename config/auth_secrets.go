package config

import (
	"encoding/json"
	"os"
	"strings"
)

// authSecrets hands the managed-store sections' secrets to add: the SigV4
// secret key (inline, from its file, or from the AWS environment), the
// Entra ID client secret, certificate password and federated token, and
// the private key, client secret and refresh token of a Google credentials
// file. read reads (and watches) a secret file.
func authSecrets(src *HTTPSource, add func(string), read func(path string) string) {
	if v := src.SigV4; v != nil {
		add(string(v.Config.SecretKey))
		add(read(v.SecretKeyFile))
		add(os.Getenv("AWS_SECRET_ACCESS_KEY"))
		add(os.Getenv("AWS_SESSION_TOKEN"))
	}
	if a := src.AzureAD; a != nil {
		if o := a.Config.OAuth; o != nil {
			add(string(o.ClientSecret))
		}
		if c := a.Config.Certificate; c != nil {
			add(string(c.CertificatePassword))
		}
		if w := a.Config.WorkloadIdentity; w != nil {
			add(read(w.TokenFilePath))
		}
		add(os.Getenv("AZURE_CLIENT_SECRET"))
	}
	if g := src.GoogleIAM; g != nil && g.CredentialsFile != "" {
		var key struct {
			PrivateKey   string `json:"private_key"`
			ClientSecret string `json:"client_secret"`
			RefreshToken string `json:"refresh_token"`
		}
		if json.Unmarshal([]byte(read(g.CredentialsFile)), &key) == nil {
			add(key.PrivateKey)
			add(key.ClientSecret)
			add(key.RefreshToken)
			// A PEM key shows up line by line where a tool prints it.
			for _, line := range strings.Split(key.PrivateKey, "\n") {
				if !strings.HasPrefix(line, "-----") {
					add(strings.TrimSpace(line))
				}
			}
		}
	}
}
