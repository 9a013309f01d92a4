"""The engine's Step Functions endpoint driven by boto3, as a Python user would drive it.

Run by asl-engine/tests/aws_clients.rs: argv[1] is the engine's endpoint, argv[2] the emulator
(moto) for SQS. Prints one JSON line of results; exits non-zero on the first failed check.
"""
import json
import sys
import time
import uuid

import boto3
from botocore.config import Config

ENGINE, EMULATOR = sys.argv[1], sys.argv[2]
ROLE = "arn:aws:iam::123456789012:role/clients"
REGION = "us-west-2"
creds = dict(aws_access_key_id="test", aws_secret_access_key="test", region_name=REGION)
sfn = boto3.client("stepfunctions", endpoint_url=ENGINE,
                   config=Config(inject_host_prefix=False, retries={"max_attempts": 1}), **creds)
sqs = boto3.client("sqs", endpoint_url=EMULATOR, **dict(creds, region_name="us-east-1"))
results = {}


def check(condition, what):
    if not condition:
        print(json.dumps({"failed": what, "results": results}))
        sys.exit(1)


def wait(arn, seconds=30):
    deadline = time.time() + seconds
    while time.time() < deadline:
        d = sfn.describe_execution(executionArn=arn)
        if d["status"] != "RUNNING":
            return d
        time.sleep(0.05)
    check(False, f"{arn} still RUNNING")


def name(prefix):
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


# 1. A callback round trip through SQS: the task sends its token in a message; a worker reads
#    the queue and answers with SendTaskSuccess (after a heartbeat).
queue = sqs.create_queue(QueueName=name("callbacks"))["QueueUrl"]
machine = sfn.create_state_machine(name=name("callback"), roleArn=ROLE, definition=json.dumps({
    "StartAt": "Ask", "States": {"Ask": {
        "Type": "Task", "Resource": "arn:aws:states:::sqs:sendMessage.waitForTaskToken",
        "Parameters": {"QueueUrl": queue, "MessageBody": {"token.$": "$$.Task.Token", "n.$": "$.n"}},
        "HeartbeatSeconds": 60, "End": True}}}))["stateMachineArn"]
check(machine.startswith(f"arn:aws:states:{REGION}:"), f"ARN in the client's region: {machine}")
execution = sfn.start_execution(stateMachineArn=machine, input=json.dumps({"n": 21}))["executionArn"]
messages = []
for _ in range(100):
    messages = sqs.receive_message(QueueUrl=queue, WaitTimeSeconds=1).get("Messages", [])
    if messages:
        break
check(messages, "the task sent its token to SQS")
body = json.loads(messages[0]["Body"])
sfn.send_task_heartbeat(taskToken=body["token"])
sfn.send_task_success(taskToken=body["token"], output=json.dumps({"doubled": body["n"] * 2}))
done = wait(execution)
check(done["status"] == "SUCCEEDED", f"callback execution: {done['status']}")
check(json.loads(done["output"]) == {"doubled": 42}, f"callback output: {done.get('output')}")
try:
    sfn.send_task_success(taskToken=body["token"], output="{}")
    check(False, "a spent token is refused")
except sfn.exceptions.TaskDoesNotExist:
    pass
results["sqs_callback"] = "ok"

# 2. An activity worker: GetActivityTask, then SendTaskSuccess.
activity = sfn.create_activity(name=name("review"))["activityArn"]
machine = sfn.create_state_machine(name=name("activity"), roleArn=ROLE, definition=json.dumps({
    "StartAt": "Review", "States": {"Review": {"Type": "Task", "Resource": activity,
                                               "TimeoutSeconds": 60, "End": True}}}))["stateMachineArn"]
execution = sfn.start_execution(stateMachineArn=machine, input='{"doc": 7}')["executionArn"]
task = sfn.get_activity_task(activityArn=activity, workerName="python-worker")
check(json.loads(task["input"]) == {"doc": 7}, f"activity input: {task}")
sfn.send_task_success(taskToken=task["taskToken"], output='{"verdict": "ok"}')
done = wait(execution)
check(done["status"] == "SUCCEEDED", f"activity execution: {done['status']}")
events = sfn.get_execution_history(executionArn=execution)["events"]
started = [e for e in events if e["type"] == "ActivityStarted"]
check(started and started[0]["activityStartedEventDetails"]["workerName"] == "python-worker",
      "ActivityStarted names the worker")
results["activity_worker"] = "ok"

# 3. Versions and an alias routing 50/50: executions through the alias reach both versions.
one = {"StartAt": "P", "States": {"P": {"Type": "Pass", "Result": 1, "End": True}}}
two = {"StartAt": "P", "States": {"P": {"Type": "Pass", "Result": 2, "End": True}}}
created = sfn.create_state_machine(name=name("versioned"), roleArn=ROLE, definition=json.dumps(one),
                                   publish=True, versionDescription="first")
machine, v1 = created["stateMachineArn"], created["stateMachineVersionArn"]
v2 = sfn.update_state_machine(stateMachineArn=machine, definition=json.dumps(two),
                              publish=True)["stateMachineVersionArn"]
versions = [v["stateMachineVersionArn"]
            for v in sfn.list_state_machine_versions(stateMachineArn=machine)["stateMachineVersions"]]
check(versions == [v2, v1], f"versions newest first: {versions}")
alias = sfn.create_state_machine_alias(name="live", routingConfiguration=[
    {"stateMachineVersionArn": v1, "weight": 50}, {"stateMachineVersionArn": v2, "weight": 50},
])["stateMachineAliasArn"]
outputs = set()
for _ in range(100):
    arn = sfn.start_execution(stateMachineArn=alias)["executionArn"]
    outputs.add(wait(arn)["output"])
    if len(outputs) == 2:
        break
check(outputs == {"1", "2"}, f"both versions serve the alias: {outputs}")
try:
    sfn.delete_state_machine_version(stateMachineVersionArn=v1)
    check(False, "a version an alias routes to cannot be deleted")
except sfn.exceptions.ConflictException:
    pass
results["versions_and_alias"] = "ok"

# 4. A redrive: the callback fails the first time; the redriven execution asks again and succeeds.
queue = sqs.create_queue(QueueName=name("redrive"))["QueueUrl"]
machine = sfn.create_state_machine(name=name("redrive"), roleArn=ROLE, definition=json.dumps({
    "StartAt": "Prepare", "States": {
        "Prepare": {"Type": "Pass", "Result": {"step": "prepared"}, "ResultPath": "$.prep", "Next": "Ask"},
        "Ask": {"Type": "Task", "Resource": "arn:aws:states:::sqs:sendMessage.waitForTaskToken",
                "Parameters": {"QueueUrl": queue, "MessageBody": {"token.$": "$$.Task.Token"}},
                "End": True}}}))["stateMachineArn"]
execution = sfn.start_execution(stateMachineArn=machine, input="{}")["executionArn"]


def next_token():
    for _ in range(100):
        got = sqs.receive_message(QueueUrl=queue, WaitTimeSeconds=1).get("Messages", [])
        if got:
            sqs.delete_message(QueueUrl=queue, ReceiptHandle=got[0]["ReceiptHandle"])
            return json.loads(got[0]["Body"])["token"]
    check(False, "no token in the queue")


sfn.send_task_failure(taskToken=next_token(), error="Worker.Busy", cause="try later")
failed = wait(execution)
check(failed["status"] == "FAILED" and failed["redriveStatus"] == "REDRIVABLE", f"failed: {failed}")
sfn.redrive_execution(executionArn=execution)
sfn.send_task_success(taskToken=next_token(), output='{"answered": true}')
done = wait(execution)
check(done["status"] == "SUCCEEDED" and done["redriveCount"] == 1, f"redriven: {done}")
events = [e["type"] for e in sfn.get_execution_history(executionArn=execution, maxResults=1000)["events"]]
check(events.count("PassStateEntered") == 1, f"Prepare ran once: {events}")
check("ExecutionRedriven" in events, f"ExecutionRedriven recorded: {events}")
results["redrive"] = "ok"

print(json.dumps({"ok": True, "results": results}))
