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
)

// TestImageBuildCommand checks what the build command both Dockerfiles use
// (deploy/docker/build-agent.sh) made for every image platform, without
// Docker: the Linux binaries must be static (the final image has no libc), and
// the one for this machine prints the version it was given (9.9.9-test).
// scripts/test.sh builds them before the tests, into NETLENS_IMAGE_BINARIES:
// cross-building takes minutes on a busy machine, too long for a test.
func TestImageBuildCommand(t *testing.T) {
	built := os.Getenv("NETLENS_IMAGE_BINARIES")
	if built == "" {
		t.Fatal("NETLENS_IMAGE_BINARIES is not set: build the image binaries first as scripts/test.sh does " +
			"(GOOS=<os> GOARCH=<arch> VERSION=9.9.9-test sh deploy/docker/build-agent.sh <dir>/<os>_<arch>/netlens-agent for linux/amd64, linux/arm64, windows/amd64)")
	}
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
			out := filepath.Join(built, p.goos+"_"+p.goarch, "netlens-agent")
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
