"""SpiffWorkflow glue: deploy (parser + checks), restricted scripts, state store, runtime, projection.

Modules: deploy (deploy, deploy_shipped), scripting (restricted script engine),
sandbox (the child processes that bound scripts in time and memory),
specs (our service task spec, parser, serializer without specs), store (lease,
load, compare-and-set save), runtime (start/complete/fire/deliver/finish),
projection (inbox rows, timers, outbox), roles (what a user task is for, declared
in the BPMN), operations (service-task registry), dispatch (the broker seam),
scheduler (sweep_once, run_forever), backfill (one-off upgrades of older rows).
"""
