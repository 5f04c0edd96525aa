# gvswitch: a Go-native, Open vSwitch-compatible userspace switch.
# Run as root on Debian 12: `make test` installs what the tests need and runs them all.

export PATH := /usr/local/go/bin:$(PATH)
GO       ?= go
BINDIR   ?= bin
PREFIX   ?= /usr/local
FUZZTIME ?= 10s
TESTFLAGS ?= -count=1 -timeout 30m
CMDS     := gvswitchd gvsctl gvs-appctl

.PHONY: all build test unit deps run demo bench bench-go fuzz lint install install-ovs-links check-generated clean

all: build

build:
	@mkdir -p $(BINDIR)
	@for c in $(CMDS); do \
		if [ -d cmd/$$c ]; then $(GO) build -o $(BINDIR)/$$c ./cmd/$$c || exit 1; fi; \
	done

deps:
	./scripts/install-deps.sh

# test: short fuzz runs of every parser, then every test, privileged and real-client ones included.
test: deps build
	$(GO) vet ./...
	FUZZTIME=$(or $(TEST_FUZZTIME),3s) ./scripts/fuzz.sh
	$(GO) test $(TESTFLAGS) ./...
	# gvsctl's differential suite once more, with gvswitch's own OVSDB server under both tools.
	$(GO) test $(TESTFLAGS) -tags gvswitchserver ./internal/vsctl/

# unit: the tests alone, without installing anything.
unit:
	$(GO) test $(TESTFLAGS) ./...

run: build
	./$(BINDIR)/gvswitchd

demo: build
	./scripts/demo.sh

# bench: gvswitchd next to the Linux bridge and Open vSwitch 3.1 (bench/README.md); QUICK=1 for a short run.
bench: build
	$(GO) build -o $(BINDIR)/gvsbench ./bench/cmd/gvsbench
	./$(BINDIR)/gvsbench -gvswitchd $(BINDIR)/gvswitchd $(if $(filter 1,$(QUICK)),-quick)

# bench-go: the in-process go test benchmarks of every package.
bench-go:
	$(GO) test -run '^$$' -bench . -benchmem ./...

fuzz:
	FUZZTIME=$(FUZZTIME) ./scripts/fuzz.sh

lint:
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt would change:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...
	$(GO) tool staticcheck ./...

check-generated:
	cd ovsdb/vswitch && $(GO) generate ./
	@git diff --exit-code -- ovsdb/vswitch || { echo "generated code is stale: run 'go generate ./ovsdb/vswitch' and commit"; exit 1; }

install: build
	@for c in $(CMDS); do \
		if [ -x $(BINDIR)/$$c ]; then install -m 0755 $(BINDIR)/$$c $(PREFIX)/bin/$$c; fi; \
	done

install-ovs-links: install
	./scripts/install-ovs-links.sh $(PREFIX)/bin

clean:
	rm -rf $(BINDIR)
