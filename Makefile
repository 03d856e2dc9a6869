# make demo  -- set up, then convert the default drum set, train briefly, sample
# make test  -- set up, then run the test suite (two test files at a time: most
#              of the time goes to single-threaded TF graph building)
PY := .venv/bin/python
# A small CPU preset: the real sizes take ~10 s a step on 2 cores (see README).
DEMO_CONFIG  := hierdec-drums_4bar_small
DEMO_HPARAMS := batch_size=32,z_size=64,enc_rnn_size=[128,128],dec_rnn_size=[64,64]
DEMO_STEPS   := 150

.PHONY: setup demo test
setup:
	bash setup.sh

demo: setup
	$(PY) make_tfrecord.py --input_dir=dataset/grooves --output_file=data/default.tfrecord
	$(PY) train.py --config=$(DEMO_CONFIG) --run_dir=runs/demo --examples_path=data/default.tfrecord \
	  --num_steps=$(DEMO_STEPS) --hparams='$(DEMO_HPARAMS)'
	$(PY) generate.py --run_dir=runs/demo --mode=sample --num_outputs=5 --output_dir=samples

test: setup
	$(PY) -m pytest -q -n 2 --dist loadfile tests
