# SI Grants: `make run` serves the demo, `make test` runs the suite (SQLite, then PostgreSQL).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
FLASK := $(BIN)/flask --app grants
PG_ADMIN_URL ?= postgresql+psycopg://postgres@127.0.0.1:5432/test
HOST ?= 127.0.0.1
PORT ?= 5000

.PHONY: run run-worker test test-sqlite test-postgres install browser translations translations-update db demo lint security clean

$(BIN)/activate:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

# Reinstall only when the project metadata changes.
$(VENV)/.installed: $(BIN)/activate pyproject.toml
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $@

install: $(VENV)/.installed

# The browser tests (tests/browser) drive Debian's Chromium through Playwright; it is installed from Debian's
# packages when missing (never a browser Playwright would download).
CHROMIUM ?= /usr/bin/chromium
browser:
	@test -x $(CHROMIUM) || { echo "installing Debian's chromium for the browser tests"; \
		sudo=$$([ "$$(id -u)" = 0 ] || echo sudo); \
		$$sudo apt-get install -y -q chromium >/dev/null 2>&1 || \
		{ $$sudo apt-get update -q >/dev/null && $$sudo apt-get install -y -q chromium >/dev/null; }; }

translations: install
	$(BIN)/pybabel compile --use-fuzzy -d grants/translations >/dev/null

db: translations
	$(FLASK) db upgrade

demo: db
	$(FLASK) demo

run: demo
	$(FLASK) run --host $(HOST) --port $(PORT)

# Background work (exports) through Redis: run the app with the same GRANTS_REDIS_URL to use it.
REDIS_URL ?= redis://127.0.0.1:6379/0
run-worker: db
	GRANTS_REDIS_URL=$${GRANTS_REDIS_URL:-$(REDIS_URL)} $(FLASK) worker

test-sqlite: translations browser
	GRANTS_TEST_DATABASE_URL= $(BIN)/pytest

# Runs when PostgreSQL answers on 127.0.0.1:5432; the tests create and drop their own database.
test-postgres: translations browser
	@if $(BIN)/python -c "import socket; socket.create_connection(('127.0.0.1', 5432), 2).close()" 2>/dev/null; then \
		echo "PostgreSQL reachable: running the suite on PostgreSQL"; \
		GRANTS_TEST_DATABASE_URL=$(PG_ADMIN_URL) $(BIN)/pytest; \
	elif [ -n "$(REQUIRE_POSTGRES)" ]; then \
		echo "PostgreSQL not reachable on 127.0.0.1:5432 but required"; exit 1; \
	else \
		echo "PostgreSQL not reachable on 127.0.0.1:5432: PostgreSQL run skipped"; \
	fi

test: lint test-sqlite test-postgres

# ruff, then the layers of grants/ (import-linter: pyproject.toml, README.md "The layers"), then the security checks.
lint: install
	$(BIN)/ruff check grants config tests bench tools
	$(BIN)/lint-imports --no-cache
	$(MAKE) --no-print-directory security

# bandit over grants/ (pyproject.toml [tool.bandit]; a false positive is marked `# nosec <id>  # why` on its line);
# pip-audit over the installed packages (tools/dependency_audit.py): fails on a known vulnerability; when no
# vulnerability service answers it says the audit did not run and passes, unless REQUIRE_DEPENDENCY_AUDIT=1.
security: install
	$(BIN)/bandit -c pyproject.toml -r grants -q
	$(BIN)/python tools/dependency_audit.py

# Audit verify speed (DESIGN §11: >= 100,000 events/s) on SQLite, then on PostgreSQL (PG_ADMIN_URL, local);
# each run builds and drops its own throw-away database. BENCH_EVENTS is at most 200000.
BENCH_EVENTS ?= 200000
.PHONY: bench-audit
bench-audit: install
	$(BIN)/python bench/audit_verify.py --events $(BENCH_EVENTS) --database sqlite
	$(BIN)/python bench/audit_verify.py --events $(BENCH_EVENTS) --database postgres --admin-url $(PG_ADMIN_URL)

# Eligibility rules over many applications (applications/s) and the SQL statements evaluate() sends,
# which must stay within a fixed budget whatever the number of applications (exits 1 otherwise).
BENCH_APPLICATIONS ?= 1000
.PHONY: bench-eligibility
bench-eligibility: install
	$(BIN)/python bench/eligibility.py --applications $(BENCH_APPLICATIONS) --database sqlite
	$(BIN)/python bench/eligibility.py --applications $(BENCH_APPLICATIONS) --database postgres --admin-url $(PG_ADMIN_URL)

# Ranking a call (DESIGN §11: <= 1 s for 10,000 applications) and the SQL statements ranking() sends;
# exits 1 over either budget. BENCH_RANKED is at most 50000.
BENCH_RANKED ?= 10000
.PHONY: bench-ranking
bench-ranking: install
	$(BIN)/python bench/ranking.py --applications $(BENCH_RANKED) --database sqlite
	$(BIN)/python bench/ranking.py --applications $(BENCH_RANKED) --database postgres --admin-url $(PG_ADMIN_URL)

# Submit throughput (DESIGN §11: the full submit reaches >= 40 % of a raw-SQL insert-plus-audit floor timed in the
# same run) on SQLite, then on PostgreSQL; both run, and the target exits 1 when either is below the ratio.
# BENCH_SUBMITS submits of each kind (at most 5000).
BENCH_SUBMITS ?= 300
.PHONY: bench-submit
bench-submit: install
	@status=0; \
	$(BIN)/python bench/submit.py --submits $(BENCH_SUBMITS) --database sqlite || status=1; \
	$(BIN)/python bench/submit.py --submits $(BENCH_SUBMITS) --database postgres --admin-url $(PG_ADMIN_URL) || status=1; \
	exit $$status

# The DESIGN §11 dataset (100,000 applications, 250,000 reviews, 2,000,000 audit events, 5,000 users) on persistent
# databases the page benchmark and anyone else reuse: grants_bench on PG_ADMIN_URL's server (dropped and built again)
# and instance/bench.sqlite3. BENCH_SIZE=small (10,000 applications) or tiny for a quick run; BENCH_DATABASES to pick.
BENCH_SIZE ?= default
BENCH_DATABASES ?= postgres sqlite
.PHONY: bench-data
bench-data: install
	@for database in $(BENCH_DATABASES); do \
		$(BIN)/python bench/dataset.py --database $$database --size $(BENCH_SIZE) --admin-url $(PG_ADMIN_URL) || exit 1; \
	done

# Every page and API list over HTTP through gunicorn (2 workers) on the bench databases (make bench-data first):
# median, p95 and SQL statements per row; exits 1 when a row's server p95 is over BENCH_BUDGET_MS (150) or a row
# does not answer. BENCH_REQUESTS timed requests per row (30).
BENCH_REQUESTS ?= 30
BENCH_BUDGET_MS ?= 150
.PHONY: bench-pages
bench-pages: install
	@status=0; \
	for database in $(BENCH_DATABASES); do \
		$(BIN)/python bench/pages.py --database $$database --requests $(BENCH_REQUESTS) \
			--budget-ms $(BENCH_BUDGET_MS) --admin-url $(PG_ADMIN_URL) || status=1; \
	done; \
	exit $$status

# After adding or changing user-facing strings: extract them and update both catalogues.
translations-update: install
	$(BIN)/pybabel extract -F babel.cfg -k lazy_gettext -k _l -k lazy_pgettext:1c,2 --no-location \
		--sort-output --omit-header -o grants/translations/messages.pot .
	$(BIN)/pybabel update -i grants/translations/messages.pot -d grants/translations --no-fuzzy-matching

clean:
	rm -rf $(VENV) instance .pytest_cache .ruff_cache
