# numgate — run `make help` for the targets.
GO      ?= go
PKGS    ?= ./...
RACE    ?= -race
BENCH   ?= .
COUNT   ?= 6

.DEFAULT_GOAL := help

.PHONY: help
help: ## Show the targets
	@awk 'BEGIN {FS = ":.*## "} /^[a-zA-Z_-]+:.*## / {printf "  %-14s %s\n", $$1, $$2}' $(MAKEFILE_LIST)

.PHONY: run
run: ## Run the gateway on its embedded default (SQLite, virtual operator, demo client)
	$(GO) run ./cmd/numgate serve

.PHONY: build
build: ## Build bin/numgate
	$(GO) build -o bin/numgate ./cmd/numgate

.PHONY: test
test: deps lint ## Run the whole test suite (installs/starts what tests need first)
	$(GO) test $(RACE) -count=1 -timeout 20m $(PKGS)

.PHONY: deps
deps: ## Install and start the test dependencies (PostgreSQL, radclient, iproute2, chromium)
	./scripts/test-deps.sh

.PHONY: lint
lint: ## gofmt and go vet
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	  if [ -n "$$out" ]; then echo "gofmt would change:"; echo "$$out"; exit 1; fi
	$(GO) vet $(PKGS)

.PHONY: bench
bench: ## Run the benchmarks (medians: pipe several counts into benchstat)
	$(GO) test -run '^$$' -bench '$(BENCH)' -benchmem -count $(COUNT) $(PKGS)

.PHONY: stress
stress: deps ## Concurrent flows of every dialect, replays at once, SQLite and two PostgreSQL replicas, under -race (~1-2 min)
	NUMGATE_STRESS=1 $(GO) test -race -count 1 -run TestStress -v ./internal/server/

.PHONY: fuzz
fuzz: ## Fuzz the RADIUS accounting packet handler for a minute
	$(GO) test -run '^$$' -fuzz FuzzHandlePacket -fuzztime 60s ./internal/network/radius/

.PHONY: clean
clean: ## Remove build output and the default data directory
	rm -rf bin numgate-data

.PHONY: bench-radius
bench-radius: ## RADIUS ingest side by side with FreeRADIUS (installs Debian's freeradius)
	internal/network/radius/testdata/bench-freeradius.sh
