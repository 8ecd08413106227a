package deploy

import (
	"bytes"
	"debug/elf"
	"debug/pe"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/netlens/netlens/tests/testenv"
)

// TestImageBuildCommand runs the build command both Dockerfiles use
// (deploy/docker/build-agent.sh) for every image platform, without Docker: the
// Linux binaries must be static (the final image has no libc), and the one for
// this machine prints the version it was given.
func TestImageBuildCommand(t *testing.T) {
	testenv.RequireCommands(t, "go", "sh")
	root := testenv.RepoRoot(t)
	for _, df := range []string{"deploy/docker/Dockerfile", "deploy/docker/Dockerfile.windows"} {
		text := string(readRepoFile(t, df))
		for _, want := range []string{"deploy/docker/build-agent.sh", "--platform=$BUILDPLATFORM", "ARG VERSION"} {
			if !strings.Contains(text, want) {
				t.Errorf("%s does not contain %q", df, want)
			}
		}
	}
	linux := string(readRepoFile(t, "deploy/docker/Dockerfile"))
	for _, want := range []string{"GOOS=$TARGETOS GOARCH=$TARGETARCH", "FROM gcr.io/distroless/static", "USER 0:0", `ENTRYPOINT ["/netlens-agent"]`} {
		if !strings.Contains(linux, want) {
			t.Errorf("deploy/docker/Dockerfile does not contain %q", want)
		}
	}
	if !strings.Contains(string(readRepoFile(t, "deploy/docker/Dockerfile.windows")), "windows-host-process-containers-base-image") {
		t.Error("Dockerfile.windows is not based on the HostProcess base image")
	}

	for _, p := range []struct{ goos, goarch string }{{"linux", "amd64"}, {"linux", "arm64"}, {"windows", "amd64"}} {
		t.Run(p.goos+"_"+p.goarch, func(t *testing.T) {
			out := filepath.Join(t.TempDir(), "netlens-agent")
			cmd := exec.Command("sh", "deploy/docker/build-agent.sh", out)
			cmd.Dir = root
			cmd.Env = append(os.Environ(), "GOOS="+p.goos, "GOARCH="+p.goarch, "VERSION=9.9.9-test")
			if b, err := cmd.CombinedOutput(); err != nil {
				t.Fatalf("build-agent.sh for %s/%s: %v\n%s", p.goos, p.goarch, err, b)
			}
			if p.goos == "windows" {
				f, err := pe.Open(out)
				if err != nil {
					t.Fatalf("not a Windows executable: %v", err)
				}
				f.Close()
				return
			}
			f, err := elf.Open(out)
			if err != nil {
				t.Fatalf("not an ELF executable: %v", err)
			}
			defer f.Close()
			for _, prog := range f.Progs {
				if prog.Type == elf.PT_INTERP {
					t.Error("dynamically linked (has an ELF interpreter): it would not run on distroless/static")
				}
			}
			if want := map[string]elf.Machine{"amd64": elf.EM_X86_64, "arm64": elf.EM_AARCH64}[p.goarch]; f.Machine != want {
				t.Errorf("machine %v, want %v", f.Machine, want)
			}
			if p.goos != runtime.GOOS || p.goarch != runtime.GOARCH {
				return
			}
			var stdout bytes.Buffer
			v := exec.Command(out, "--version")
			v.Stdout = &stdout
			if err := v.Run(); err != nil {
				t.Fatalf("netlens-agent --version: %v", err)
			}
			if !strings.HasPrefix(stdout.String(), "netlens-agent 9.9.9-test ") {
				t.Errorf("netlens-agent --version printed %q, want the VERSION build argument", stdout.String())
			}
		})
	}
}
