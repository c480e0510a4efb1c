# The scripts of scripts/ and bench/ (included by tests/CMakeLists.txt): each one's --help, and each that runs
# ddim run end to end at its smallest size on tiny models, so that a renamed option, a moved output file or a
# broken path fails a test instead of a reader. The scripts are given the built ddim (DDIM=... or --ddim), so
# none of them installs or builds anything; each writes under test-tmp/scripts/NAME, cleared first
# (tests/scripts/fresh.sh). The scripts that install or build (install-deps, install-faces, build, build-gpu,
# gpu-bundle, test, fuzz) get their --help and, where there is one, a dry run.
#
# Labels: cli (seconds: --help, dry runs, syntax, the configs parsed, scripts/ddim_tables.py's tests), slow
# (trains tiny models and runs the scripts: about four minutes of one thread in all, two on two cores).

set(DDIM_SCRIPTS_TMP ${PROJECT_BINARY_DIR}/test-tmp/scripts)
set(DDIM_SCRIPTS_DIR ${PROJECT_SOURCE_DIR}/tests/scripts)

# Every script's --help: exit 0 and a usage that names the script.
foreach(name build build-gpu diffae-tables diffusegae-tables direct-inversion-study fuzz gpu-bundle install-deps
        install-faces main-job reference reproduce reproduce-table1 test)
  add_test(NAME Scripts.Help.${name}
           COMMAND ${DDIM_SCRIPTS_DIR}/check-help.sh ${PROJECT_SOURCE_DIR}/scripts/${name}.sh scripts/${name}.sh)
  set_tests_properties(Scripts.Help.${name} PROPERTIES LABELS cli TIMEOUT 60)
endforeach()
add_test(NAME Scripts.Help.bench-run COMMAND ${DDIM_SCRIPTS_DIR}/check-help.sh ${PROJECT_SOURCE_DIR}/bench/run.sh bench/run.sh)
set_tests_properties(Scripts.Help.bench-run PROPERTIES LABELS cli TIMEOUT 60)

# bash -n on every script, and shellcheck's warnings where shellcheck is installed.
add_test(NAME Scripts.Lint COMMAND ${DDIM_SCRIPTS_DIR}/lint.sh ${PROJECT_SOURCE_DIR})
# The installers' dry runs: what they would install, nothing installed.
add_test(NAME Scripts.InstallDeps.DryRun COMMAND ${PROJECT_SOURCE_DIR}/scripts/install-deps.sh --dry-run)
add_test(NAME Scripts.InstallFaces.DryRun COMMAND ${PROJECT_SOURCE_DIR}/scripts/install-faces.sh --dry-run)
# scripts/ddim_tables.py on fixture runs, against the tables the scripts wrote before it (byte for byte).
add_test(NAME Scripts.DdimTables COMMAND python3 ${DDIM_SCRIPTS_DIR}/test_ddim_tables.py)
set_tests_properties(Scripts.Lint Scripts.InstallDeps.DryRun Scripts.InstallFaces.DryRun Scripts.DdimTables
                     PROPERTIES LABELS cli TIMEOUT 120)

if(TARGET ddim_cli)
  set(DDIM_SCRIPTS_ENV "DDIM=$<TARGET_FILE:ddim_cli>" "DDIM_THREADS=1")

  # Every reference config as ddim reads it (DDIM_PARSE_ONLY=1): an unknown key or a renamed option fails.
  add_test(NAME Scripts.Reference.ConfigsParse COMMAND ${PROJECT_SOURCE_DIR}/scripts/reference.sh --check)
  # The presets of configs/ (the main job's configs/quick.toml and faces-quick.toml among them), likewise.
  add_test(NAME Scripts.Configs.Parse COMMAND ${DDIM_SCRIPTS_DIR}/configs-parse.sh ${PROJECT_SOURCE_DIR})
  set_tests_properties(Scripts.Reference.ConfigsParse Scripts.Configs.Parse PROPERTIES LABELS cli TIMEOUT 120
                       ENVIRONMENT "${DDIM_SCRIPTS_ENV}")

  # The tiny models and faces the slow script tests share (tests/scripts/tiny-models.sh), made once.
  add_test(NAME Scripts.TinyModels
           COMMAND ${DDIM_SCRIPTS_DIR}/tiny-models.sh $<TARGET_FILE:ddim_cli> ${DDIM_SCRIPTS_TMP}/tiny)
  set_tests_properties(Scripts.TinyModels PROPERTIES FIXTURES_SETUP ddim_scripts_tiny)
  set(tiny ${DDIM_SCRIPTS_TMP}/tiny)

  # NAME OUT COMMAND...: a slow test of a script that writes OUT (cleared first).
  function(ddim_script_test name out)
    add_test(NAME ${name} COMMAND ${DDIM_SCRIPTS_DIR}/fresh.sh ${out} ${ARGN})
    set_tests_properties(${name} PROPERTIES LABELS slow TIMEOUT 900 ENVIRONMENT "${DDIM_SCRIPTS_ENV}")
  endfunction()

  # The main job at --quick: Fashion-MNIST for 2 steps, then the shipped faces models on the tiny faces set
  # standing in for ddim's cached one; the binary given by --ddim.
  ddim_script_test(Scripts.MainJob.Quick ${DDIM_SCRIPTS_TMP}/main-job
    ${CMAKE_COMMAND} -E env DDIM_CACHE_DIR=${tiny}/cache
    ${PROJECT_SOURCE_DIR}/scripts/main-job.sh --quick --ddim $<TARGET_FILE:ddim_cli> ${DDIM_SCRIPTS_TMP}/main-job)
  # The reference runner: start, resume, two stages, an unknown name (tests/scripts/reference-runs.sh).
  ddim_script_test(Scripts.Reference.StartAndResume ${DDIM_SCRIPTS_TMP}/reference
    ${DDIM_SCRIPTS_DIR}/reference-runs.sh ${DDIM_SCRIPTS_TMP}/reference)
  # reproduce.sh on the shipped models, a few images each (its faces parts refine for minutes: left out).
  ddim_script_test(Scripts.Reproduce.Quick ${DDIM_SCRIPTS_TMP}/reproduce
    ${PROJECT_SOURCE_DIR}/scripts/reproduce.sh fashion-mnist independence --n 5 --limit 64
    --out ${DDIM_SCRIPTS_TMP}/reproduce)
  ddim_script_test(Scripts.DiffaeTables ${DDIM_SCRIPTS_TMP}/diffae-tables
    ${PROJECT_SOURCE_DIR}/scripts/diffae-tables.sh --denoiser ${tiny}/ddim/model.pt --diffae ${tiny}/diffae/model.pt
    --images 2 --out ${DDIM_SCRIPTS_TMP}/diffae-tables)
  ddim_script_test(Scripts.ReproduceTable1 ${DDIM_SCRIPTS_TMP}/table1
    ${PROJECT_SOURCE_DIR}/scripts/reproduce-table1.sh --quick --denoiser ${tiny}/ddim/model.pt --images 2
    --embedder-steps 1 --refine 2 --out ${DDIM_SCRIPTS_TMP}/table1)
  # Every part of the study and the figures it copies, on the tiny class-conditional model.
  ddim_script_test(Scripts.DirectInversionStudy ${DDIM_SCRIPTS_TMP}/direct-inversion
    ${PROJECT_SOURCE_DIR}/scripts/direct-inversion-study.sh --quick --model ${tiny}/conditional/model.pt
    --classifier ${tiny}/classifier/model.pt --images 2 --steps 2 --seeds 1 --out ${DDIM_SCRIPTS_TMP}/direct-inversion)
  # The DiffuseGAE pipeline (Diff-AE, GAE, classifiers, every table; the fine-tuning left out, as
  # `reproduce.sh diffusegae-faces` leaves it, for time) on tiny nets.
  ddim_script_test(Scripts.DiffusegaeTables.Tiny ${DDIM_SCRIPTS_TMP}/diffusegae
    ${PROJECT_SOURCE_DIR}/scripts/diffusegae-tables.sh --tiny --no-finetune --out ${DDIM_SCRIPTS_TMP}/diffusegae)
  # ddim against PyTorch, one iteration each (skipped where Debian's python3-torch is missing).
  ddim_script_test(Scripts.Bench.Quick ${DDIM_SCRIPTS_TMP}/bench.jsonl
    ${CMAKE_COMMAND} -E env THREADS=1 ${PROJECT_SOURCE_DIR}/bench/run.sh --quick ${DDIM_SCRIPTS_TMP}/bench.jsonl)
  set_tests_properties(Scripts.Bench.Quick PROPERTIES SKIP_RETURN_CODE 77)
  # ONNX Runtime's side too (export, the check against PyTorch's output, the timed sampling and
  # inversion loops, the ratios), where
  # onnxruntime-node is already installed: `bench/run.sh --onnxruntime` installs it, this test never does
  # (ORT_NO_INSTALL=1: skipped without it).
  ddim_script_test(Scripts.Bench.OnnxRuntime ${DDIM_SCRIPTS_TMP}/bench-ort.jsonl
    sh -c "THREADS=1 ORT_NO_INSTALL=1 '${PROJECT_SOURCE_DIR}/bench/run.sh' --quick --onnxruntime '${DDIM_SCRIPTS_TMP}/bench-ort.jsonl' && grep -q 'sample.*ratio_vs_onnxruntime' '${DDIM_SCRIPTS_TMP}/bench-ort.jsonl' && grep -q 'invert.*ratio_vs_onnxruntime' '${DDIM_SCRIPTS_TMP}/bench-ort.jsonl'")
  set_tests_properties(Scripts.Bench.OnnxRuntime PROPERTIES SKIP_RETURN_CODE 77)

  set_tests_properties(Scripts.TinyModels PROPERTIES LABELS slow TIMEOUT 300)
  set_tests_properties(Scripts.MainJob.Quick Scripts.DiffaeTables Scripts.ReproduceTable1
                       Scripts.DirectInversionStudy PROPERTIES FIXTURES_REQUIRED ddim_scripts_tiny)
endif()
