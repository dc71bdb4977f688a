// Evaluates IAM requests with @cloud-copilot/iam-simulate (AWS's evaluation logic, written
// elsewhere): reads a JSON list of requests on stdin, writes one decision per request on stdout.
//
// A request: {"principal": "<role ARN> | <service>.amazonaws.com | anonymous",
//             "action": "es:ESHttpPost", "resource": "<ARN>", "resourceAccount": "<12 digits>",
//             "identityPolicies": [<policy document>...], "resourcePolicy": <policy document> | null,
//             "context": {"aws:SecureTransport": "true", ...}}
// A decision: {"decision": "Allowed" | "ExplicitlyDenied" | "ImplicitlyDenied" | "Error", "errors": ...}
import { anonymousPrincipal, runSimulation } from '@cloud-copilot/iam-simulate'

async function readStdin() {
  const chunks = []
  for await (const chunk of process.stdin) chunks.push(chunk)
  return Buffer.concat(chunks).toString('utf8')
}

async function decide(req) {
  const anonymous = req.principal === 'anonymous'
  const simulation = {
    request: {
      principal: anonymous ? anonymousPrincipal : req.principal,
      action: req.action,
      resource: { resource: req.resource, accountId: req.resourceAccount },
      contextVariables: req.context ?? {},
    },
    identityPolicies: anonymous ? [] : (req.identityPolicies ?? []).map((policy, i) => ({ name: `identity${i}`, policy })),
    serviceControlPolicies: [],
    resourceControlPolicies: [],
  }
  if (req.resourcePolicy) simulation.resourcePolicy = req.resourcePolicy
  const response = await runSimulation(simulation, {})
  if (response.resultType === 'error') return { decision: 'Error', errors: response.errors }
  return { decision: response.overallResult }
}

const requests = JSON.parse(await readStdin())
if (!Array.isArray(requests)) throw new Error('stdin: expected a JSON list of requests')
const out = []
for (const req of requests) out.push(await decide(req))
process.stdout.write(JSON.stringify(out))
