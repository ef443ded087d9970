"""Validates policy documents with moto's IAM policy grammar (moto.iam.policy_validation).

stdin: JSON list of {"kind": "trust" | "identity" | "resource", "text": "<policy JSON>"}
stdout: JSON list of {"ok": bool, "error": str | null}, in the same order.

trust: IAMTrustPolicyDocumentValidator (what moto applies to UpdateAssumeRolePolicy);
identity: IAMPolicyDocumentValidator (PutRolePolicy, CreatePolicy);
resource: the grammar both share (BaseIAMPolicyValidator), for bucket and key policies, which moto stores unchecked.
"""
import json
import sys

from moto.iam.policy_validation import (
    BaseIAMPolicyValidator,
    IAMPolicyDocumentValidator,
    IAMTrustPolicyDocumentValidator,
)

VALIDATORS = {
    "trust": IAMTrustPolicyDocumentValidator,
    "identity": IAMPolicyDocumentValidator,
    "resource": BaseIAMPolicyValidator,
}

results = []
for doc in json.load(sys.stdin):
    try:
        VALIDATORS[doc["kind"]](doc["text"]).validate()
        results.append({"ok": True, "error": None})
    except Exception as e:  # moto raises MalformedPolicyDocument with a message
        results.append({"ok": False, "error": getattr(e, "message", None) or str(e)})
json.dump(results, sys.stdout)
