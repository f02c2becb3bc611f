// The real Octopus JavaScript clients against a real octomigd (started by run.sh, which passes
// OCTOMIG_URL and OCTOMIG_API_KEY, and OCTOMIG_SOURCE_URL and OCTOMIG_SOURCE_API_KEY for a seeded
// source server). One test() per client behaviour, so that more (resource CRUD) can be added
// beside them. The "HTTPS:" tests drive an HTTPS-only server (OCTOMIG_TLS_URL, OCTOMIG_TLS_API_KEY)
// and the source's HTTPS listener (OCTOMIG_SOURCE_TLS_URL), whose certificates come from run.sh's
// throwaway CA in OCTOMIG_TEST_PKI; this process trusts that CA through NODE_EXTRA_CA_CERTS only.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import https from "node:https";
import tls from "node:tls";
import os from "node:os";
import path from "node:path";
import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import { createRequire } from "node:module";

const require = createRequire(import.meta.url);
const {
  Client,
  PackageRepository,
  OverwriteMode,
  ServerTaskWaiter,
  SpaceServerTaskRepository,
  ProjectRepository,
  ProjectGroupRepository,
  LifecycleRepository,
  EnvironmentRepository,
} = require("@octopusdeploy/api-client");
const octopack = require("@octopusdeploy/octopackjs");

const url = process.env.OCTOMIG_URL;
const apiKey = process.env.OCTOMIG_API_KEY;
const sourceUrl = process.env.OCTOMIG_SOURCE_URL;
const sourceKey = process.env.OCTOMIG_SOURCE_API_KEY;
const tlsUrl = process.env.OCTOMIG_TLS_URL;
const tlsKey = process.env.OCTOMIG_TLS_API_KEY;
const sourceTlsUrl = process.env.OCTOMIG_SOURCE_TLS_URL;
const pki = process.env.OCTOMIG_TEST_PKI;
if (!url || !apiKey) throw new Error("OCTOMIG_URL and OCTOMIG_API_KEY must be set (tests/clients/run.sh sets them)");
const here = path.dirname(fileURLToPath(import.meta.url));

let client;
let workDir;

// A file whose bytes say which push wrote it.
function packageFile(name, text) {
  const p = path.join(workDir, name);
  fs.writeFileSync(p, text);
  return p;
}

async function raw(id, base = url, key = apiKey) {
  const r = await fetch(`${base}/api/Spaces-1/packages/${id}/raw`, { headers: { "X-Octopus-ApiKey": key } });
  assert.equal(r.status, 200, `GET ${id}/raw`);
  return await r.text();
}

// octopackjs is callback-based; resolve with the body or reject with {statusCode, body}.
function octopackPush(buffer, options) {
  return new Promise((resolve, reject) => {
    octopack.push(buffer, { host: url, apikey: apiKey, ...options }, (err, body) => (err ? reject(err) : resolve(body)));
  });
}

before(async () => {
  workDir = fs.mkdtempSync(path.join(os.tmpdir(), "octomig-clients-"));
  client = await Client.create({ instanceURL: url, apiKey, userAgentApp: "octomig-client-tests" });
});

after(() => {
  fs.rmSync(workDir, { recursive: true, force: true });
});

test("api-client pushes a package, lists it and reads it back", async () => {
  const repo = new PackageRepository(client, "Default");
  await repo.push([packageFile("ApiClient.Pkg.1.0.0.zip", "first api-client push")], OverwriteMode.FailIfExists);
  const list = await repo.list({ nuGetPackageId: "ApiClient.Pkg" });
  assert.equal(list.TotalResults, 1);
  const p = list.Items[0];
  assert.equal(p.Id, "packages-ApiClient.Pkg.1.0.0");
  assert.equal(p.Version, "1.0.0");
  assert.equal(p.PackageSizeBytes, "first api-client push".length);
  assert.match(p.Hash, /^[0-9a-f]{40}$/);
  const got = await repo.get("packages-ApiClient.Pkg.1.0.0");
  assert.equal(got.Hash, p.Hash);
  assert.equal(await raw("ApiClient.Pkg.1.0.0"), "first api-client push");
});

// Run in a child node process by the next test: one api-client push, then nothing. It prints one
// RESULT line when the push resolves, with the Connection header of the upload's answer as the
// client's own http request saw it, and must then exit by itself.
const pushAndExit = String.raw`
const { createRequire } = require("node:module");
const dc = require("node:diagnostics_channel");
const [dir, url, apiKey, file] = process.argv.slice(1);
const { Client, PackageRepository, OverwriteMode } = createRequire(dir + "/")("@octopusdeploy/api-client");
let connection = "(no answer seen)";
dc.subscribe("http.client.response.finish", ({ request, response }) => {
  if (request.method === "POST" && request.path.includes("/packages/raw")) connection = response.headers.connection ?? "(none)";
});
const quiet = { debug() {}, info() {}, warn() {}, error() {} };
(async () => {
  const client = await Client.create({ instanceURL: url, apiKey, userAgentApp: "octomig-client-tests", logging: quiet });
  await new PackageRepository(client, "Default").push([file], OverwriteMode.FailIfExists);
  process.stdout.write("RESULT " + JSON.stringify({ connection }) + "\n");
})().catch((e) => { process.stderr.write(String((e && e.stack) || e) + "\n"); process.exitCode = 1; });
`;

// Runs script in a child node process with args and env; kills it if it has not exited after
// limitMs. Resolves with its RESULT line parsed, when it printed that and when it exited (ms since
// the start), and how it ended.
function runNode(script, args, limitMs, env = process.env) {
  return new Promise((resolve, reject) => {
    const t0 = Date.now();
    const child = spawn(process.execPath, ["-e", script, ...args], { stdio: ["ignore", "pipe", "pipe"], env });
    let stdout = "";
    let stderr = "";
    let resultAt;
    child.stdout.on("data", (d) => {
      stdout += d;
      if (resultAt === undefined && /^RESULT /m.test(stdout)) resultAt = Date.now() - t0;
    });
    child.stderr.on("data", (d) => (stderr += d));
    const killer = setTimeout(() => child.kill("SIGKILL"), limitMs);
    child.on("error", (e) => {
      clearTimeout(killer);
      reject(e);
    });
    child.on("close", (code, signal) => {
      clearTimeout(killer);
      const line = stdout.split("\n").find((l) => l.startsWith("RESULT "));
      resolve({ result: line && JSON.parse(line.slice(7)), resultAt, exitedAt: Date.now() - t0, code, signal, stderr });
    });
  });
}

// Runs pushAndExit: file pushed to the server at base with key.
const runPushChild = (file, limitMs, base = url, key = apiKey) => runNode(pushAndExit, [here, base, key, file], limitMs);

// octomigd answers an upload with "Connection: close" (http/server.cpp, start_upload). api-client
// needs it: axios (through api-client's maxBodyLength: Infinity) pipes the form-data body through
// stream.pipeline, which misses form-data's synchronous 'end' and so never ends the request; node
// only gives a kept-alive socket back to its agent once the request has ended too, so without the
// close the busy socket keeps the client's process alive until the server's 60 s idle timeout.
test("api-client: an upload's answer closes the connection, so the client's process exits at once", async () => {
  const child = await runPushChild(packageFile("ApiClient.Exit.1.0.0.zip", "exit push"), 15000);
  const seen = JSON.stringify({ ...child, stderr: child.stderr.slice(0, 2000) });
  assert.ok(child.result, `the push did not resolve: ${seen}`);

  const list = await new PackageRepository(client, "Default").list({ nuGetPackageId: "ApiClient.Exit" });
  assert.equal(list.TotalResults, 1);
  assert.equal(list.Items[0].Id, "packages-ApiClient.Exit.1.0.0");
  assert.equal(await raw("ApiClient.Exit.1.0.0"), "exit push");

  assert.equal(child.signal, null, `the pushing process was still alive 15 s after it started: ${seen}`);
  assert.equal(child.code, 0, `the pushing process failed: ${seen}`);
  // Exiting normally takes some milliseconds; a kept-alive busy socket would hold it for 60 s.
  const lingered = child.exitedAt - child.resultAt;
  assert.ok(lingered < 5000, `the process took ${lingered} ms to exit after its push resolved: ${seen}`);
  assert.equal(child.result.connection, "close", "the upload's answer, as api-client's request saw it");
});

test("api-client: a duplicate gets 409, IgnoreIfExists 200, OverwriteExisting replaces", async () => {
  const repo = new PackageRepository(client, "Default");
  await repo.push([packageFile("ApiClient.Dup.1.0.0.zip", "original")]);
  await assert.rejects(
    repo.push([packageFile("ApiClient.Dup.1.0.0.zip", "duplicate")], OverwriteMode.FailIfExists),
    /A package with the same ID and version already exists/,
  );
  await repo.push([packageFile("ApiClient.Dup.1.0.0.zip", "ignored")], OverwriteMode.IgnoreIfExists);
  assert.equal(await raw("ApiClient.Dup.1.0.0"), "original");

  // api-client hides the status codes; the same requests through fetch show them.
  const form = (text) => {
    const fd = new FormData();
    fd.append("fileToUpload", new Blob([text]), "ApiClient.Dup.1.0.0.zip");
    return fd;
  };
  const post = (mode, text) =>
    fetch(`${url}/api/Spaces-1/packages/raw?overwriteMode=${mode}`, {
      method: "POST",
      headers: { "X-Octopus-ApiKey": apiKey },
      body: form(text),
    });
  assert.equal((await post("FailIfExists", "duplicate")).status, 409);
  assert.equal((await post("IgnoreIfExists", "ignored")).status, 200);

  await repo.push([packageFile("ApiClient.Dup.1.0.0.zip", "replacement")], OverwriteMode.OverwriteExisting);
  assert.equal(await raw("ApiClient.Dup.1.0.0"), "replacement");
});

test("octopackjs pushes with and without a space, and replace=true replaces", async () => {
  const body = await octopackPush(Buffer.from("octopack system route"), { name: "Octopack.Pkg.1.0.0.zip" });
  assert.equal(body.Id, "packages-Octopack.Pkg.1.0.0");
  assert.equal(body.PackageSizeBytes, "octopack system route".length);

  const spaced = await octopackPush(Buffer.from("octopack space route"), {
    name: "Octopack.Pkg.2.0.0.tar.gz",
    spaceId: "Spaces-1",
  });
  assert.equal(spaced.FileExtension, ".tar.gz");
  assert.equal(await raw("Octopack.Pkg.2.0.0"), "octopack space route");

  const replaced = await octopackPush(Buffer.from("replaced"), { name: "Octopack.Pkg.1.0.0.zip", replace: true });
  assert.equal(replaced.PackageSizeBytes, "replaced".length);
  assert.equal(await raw("Octopack.Pkg.1.0.0"), "replaced");
});

test("octopackjs: a duplicate without replace gets 409 with Octopus's error body", async () => {
  await octopackPush(Buffer.from("one"), { name: "Octopack.Dup.1.0.0.zip" });
  await assert.rejects(octopackPush(Buffer.from("two"), { name: "Octopack.Dup.1.0.0.zip" }), (err) => {
    assert.equal(err.statusCode, 409);
    assert.ok(err.body.Errors.some((e) => e.includes("already exists")), JSON.stringify(err.body));
    return true;
  });
  assert.equal(await raw("Octopack.Dup.1.0.0"), "one");
});

// The Migration API has no api-client support (contract §1.1): its requests are posted as the
// documentation's curl examples do, with `body` sent as it is. Answers the parsed echo.
async function postMigration(base, key, route, body) {
  const posted = await fetch(`${base}/api/migrations/${route}`, {
    method: "POST",
    headers: { "X-Octopus-ApiKey": key, "Content-Type": "application/json" },
    body,
  });
  const echo = await posted.json();
  assert.equal(posted.status, 200, `POST /api/migrations/${route}: ${JSON.stringify(echo)}`);
  assert.match(echo.TaskId, /^ServerTasks-\d+$/);
  assert.equal(echo.Password, null, "the echo never carries the password");
  return echo;
}

// api-client's ServerTaskWaiter until the task completes (50 s at most); asserts it ended in state
// `ends` and that the states it saw came in the order Queued -> Executing -> ends, Executing among
// them (run.sh pauses a step of each migration for that). Answers the completed task.
async function waitForTask(octopus, taskId, what, ends) {
  const seen = [];
  const task = await new ServerTaskWaiter(octopus, "Default").waitForServerTaskToComplete(taskId, 100, 50000, (t) => {
    if (seen[seen.length - 1] !== t.State) seen.push(t.State);
  });
  assert.ok(task, `${what} did not complete within 50 s: ${seen}`);
  assert.equal(task.State, ends, `${what} ended ${task.State}: ${task.ErrorMessage}`);
  const order = ["Queued", "Executing", ends];
  assert.ok(seen.includes("Executing"), `the waiter never saw ${what} executing: ${seen}`);
  for (let i = 1; i < seen.length; i++)
    assert.ok(order.indexOf(seen[i - 1]) < order.indexOf(seen[i]), `${what}: states out of order: ${seen}`);
  assert.equal(seen[seen.length - 1], ends);
  return task;
}

const waitForSuccess = (octopus, taskId, what) => waitForTask(octopus, taskId, what, "Success");

function exportBody(packageId, projects, feed = url, feedKey = apiKey) {
  return JSON.stringify({
    PackageId: packageId,
    PackageVersion: "1.0.0",
    Password: "Demo1234",
    Projects: projects,
    EncryptPackage: true,
    IncludeTaskLogs: true,
    DestinationApiKey: feedKey,
    DestinationPackageFeed: feed,
  });
}

// The import body as the documentation's raw request has it: IsDryRun as a string, a // comment
// and a trailing comma.
const importBody = (packageId, dryRun, extra = "") => `{
    "PackageId": "${packageId}",
    "PackageVersion": "1.0.0",
    "Password": "Demo1234",
    "IsDryRun": "${dryRun}", // false once the dry run's plan has been reviewed
    "IsEncryptedPackage": true,${extra}
}`;

// The extra line of a real import that also deletes the package from the feed.
const deleteOnCompletion = '\n    "DeletePackageOnCompletion": true,';

test("api-client waits for a partial export and lists the package it pushed to the destination", async () => {
  assert.ok(sourceUrl && sourceKey, "run.sh starts a seeded source server");
  const body = await postMigration(sourceUrl, sourceKey, "partialexport", exportBody("ClientsExport", ["Web Portal"]));
  assert.equal(body.DestinationApiKey, null);

  const source = await Client.create({ instanceURL: sourceUrl, apiKey: sourceKey, userAgentApp: "octomig-client-tests" });
  await waitForSuccess(source, body.TaskId, "the export");

  const list = await new PackageRepository(client, "Default").list({ nuGetPackageId: "ClientsExport" });
  assert.equal(list.TotalResults, 1);
  assert.equal(list.Items[0].Version, "1.0.0");
  assert.ok(list.Items[0].PackageSizeBytes > 0);
});

// The whole migration as a user runs it: export from the source into the destination's feed, a dry
// run of the import (nothing written), the import itself, then the destination read back through
// api-client's own repositories.
test("api-client follows a migration (export, dry run, import) and reads the imported projects", async () => {
  assert.ok(sourceUrl && sourceKey, "run.sh starts a seeded source server");
  const exported = ["Web Portal", "Order API"];
  const source = await Client.create({ instanceURL: sourceUrl, apiKey: sourceKey, userAgentApp: "octomig-client-tests" });
  const exportTask = await postMigration(sourceUrl, sourceKey, "partialexport", exportBody("ClientsMigration", exported));
  await waitForSuccess(source, exportTask.TaskId, "the export");

  const projects = new ProjectRepository(client, "Default");
  const projectNames = async () => (await projects.list({ take: 1000 })).Items.map((p) => p.Name);
  for (const name of exported) assert.ok(!(await projectNames()).includes(name), `${name} is on the destination before the import`);

  const tasks = new SpaceServerTaskRepository(client, "Default");

  const dry = await postMigration(url, apiKey, "import", importBody("ClientsMigration", "true"));
  assert.equal(dry.IsDryRun, true);
  await waitForSuccess(client, dry.TaskId, "the dry run");
  const plan = await tasks.getRaw(dry.TaskId);
  assert.match(plan, /Project\.+create 2, overwrite 0, skip 0$/m, plan);
  assert.match(plan, /Totals: create \d+, overwrite 0, skip 0, tasks \d+ \(dry run: nothing was written\)/, plan);
  for (const name of exported) assert.ok(!(await projectNames()).includes(name), `the dry run wrote ${name}`);

  const real = await postMigration(url, apiKey, "import", importBody("ClientsMigration", "false", deleteOnCompletion));
  assert.equal(real.IsDryRun, false);
  await waitForSuccess(client, real.TaskId, "the import");
  const log = await tasks.getRaw(real.TaskId);
  assert.match(log, /Totals: created \d+, overwritten 0, skipped 0, tasks \d+/, log);
  const pkgs = await new PackageRepository(client, "Default").list({ nuGetPackageId: "ClientsMigration" });
  assert.equal(pkgs.TotalResults, 0, "DeletePackageOnCompletion removes the package from the feed");

  // Every exported project, by name, with its group and lifecycle resolving to documents of the
  // destination, and the lifecycle's phases to its environments; the project not exported stays out.
  const all = (await projects.list({ take: 1000 })).Items;
  assert.deepEqual(all.map((p) => p.Name).sort(), [...exported].sort());
  const groups = new ProjectGroupRepository(client, "Default");
  const lifecycles = new LifecycleRepository(client, "Default");
  const environments = (await new EnvironmentRepository(client, "Default").list({ take: 1000 })).Items;
  const environmentIds = new Set(environments.map((e) => e.Id));
  assert.ok(environments.length > 0, "the lifecycles' environments were imported");
  for (const name of exported) {
    const project = all.find((p) => p.Name === name);
    assert.equal((await projects.get(project.Id)).Name, name);
    const group = await groups.get(project.ProjectGroupId);
    assert.equal(group.Id, project.ProjectGroupId);
    assert.ok((await groups.list({ take: 1000 })).Items.some((g) => g.Id === group.Id && g.Name === group.Name));
    const lifecycle = await lifecycles.get(project.LifecycleId);
    assert.equal(lifecycle.Id, project.LifecycleId);
    assert.ok((await lifecycles.list({ take: 1000 })).Items.some((l) => l.Id === lifecycle.Id && l.Name === lifecycle.Name));
    assert.ok(lifecycle.Phases.length > 0, `${lifecycle.Name} has phases`);
    for (const phase of lifecycle.Phases)
      for (const id of [...(phase.AutomaticDeploymentTargets ?? []), ...(phase.OptionalDeploymentTargets ?? [])])
        assert.ok(environmentIds.has(id), `${lifecycle.Name}'s phase ${phase.Name} names ${id}, not an environment here`);
  }

  // The task history came along: each "Create Task <source id> -> <id>" of the import's log is a
  // completed task of the destination, with its log.
  const created = [...log.matchAll(/Create Task ServerTasks-\d+ -> (ServerTasks-\d+)/g)].map((m) => m[1]);
  assert.ok(created.length > 0, `the import created no tasks: ${log}`);
  const history = await tasks.getByIds(created);
  assert.equal(history.length, created.length);
  for (const t of history) assert.ok(t.IsCompleted, `${t.Id} is a completed task`);
  assert.ok((await tasks.getRaw(created[0])).length > 0, "an imported task's log");
});

// ---- HTTPS ----

const pem = (name) => fs.readFileSync(path.join(pki, name));

// api-client on the HTTPS-only server, created once by the first test that needs it.
let tlsClientPromise;
const tlsClient = () => (tlsClientPromise ??= Client.create({ instanceURL: tlsUrl, apiKey: tlsKey, userAgentApp: "octomig-client-tests" }));

// One TLS handshake with the server at base, as node's default trust sees it: the protocol, whether
// the peer was verified and the certificate it presented.
function handshake(base) {
  const { hostname, port } = new URL(base);
  return new Promise((resolve, reject) => {
    const socket = tls.connect({ host: hostname, port: Number(port) }, () => {
      const cert = socket.getPeerCertificate();
      resolve({ protocol: socket.getProtocol(), authorized: socket.authorized, issuer: cert.issuer.CN, san: cert.subjectaltname });
      socket.end();
    });
    socket.setTimeout(10000, () => socket.destroy(new Error(`no TLS handshake with ${base} within 10 s`)));
    socket.on("error", reject);
  });
}

// How many GET /api (api-client's first request) the server has answered, whatever the status
// (GET /metrics).
async function rootRequests(base) {
  const text = await (await fetch(`${base}/metrics`)).text();
  return [...text.matchAll(/^octomig_http_requests_total\{route="root",status="\d+"\} (\d+)$/gm)].reduce((n, m) => n + Number(m[1]), 0);
}

test("HTTPS: api-client connects to an HTTPS-only server through the test CA and reads a repository", async () => {
  assert.ok(tlsUrl && tlsKey && sourceTlsUrl && pki, "run.sh starts the HTTPS servers");
  assert.match(tlsUrl, /^https:\/\//);
  for (const base of [tlsUrl, sourceTlsUrl]) {
    const peer = await handshake(base);
    assert.deepEqual(peer, {
      protocol: "TLSv1.3",
      authorized: true,
      issuer: "octomig clients test ca",
      san: "IP Address:127.0.0.1, DNS:localhost",
    }, base);
  }

  const c = await tlsClient();
  // Nothing is on the HTTPS server until the migration below.
  const projects = await new ProjectRepository(c, "Default").list({ take: 1000 });
  assert.equal(projects.TotalResults, 0);
  assert.deepEqual(projects.Items, []);
  const environments = await new EnvironmentRepository(c, "Default").list({ take: 1000 });
  assert.equal(environments.TotalResults, 0);
});

test("HTTPS: api-client pushes a package, and its process exits at once after the upload's answer", async () => {
  const child = await runPushChild(packageFile("ApiClient.Tls.1.0.0.zip", "https push"), 15000, tlsUrl, tlsKey);
  const seen = JSON.stringify({ ...child, stderr: child.stderr.slice(0, 2000) });
  assert.ok(child.result, `the push did not resolve: ${seen}`);
  assert.equal(child.signal, null, `the pushing process was still alive 15 s after it started: ${seen}`);
  assert.equal(child.code, 0, `the pushing process failed: ${seen}`);
  const lingered = child.exitedAt - child.resultAt;
  assert.ok(lingered < 5000, `the process took ${lingered} ms to exit after its push resolved: ${seen}`);
  assert.equal(child.result.connection, "close", "the upload's answer, as api-client's request saw it");

  const list = await new PackageRepository(await tlsClient(), "Default").list({ nuGetPackageId: "ApiClient.Tls" });
  assert.equal(list.TotalResults, 1);
  assert.equal(list.Items[0].Id, "packages-ApiClient.Tls.1.0.0");
  assert.equal(await raw("ApiClient.Tls.1.0.0", tlsUrl, tlsKey), "https push");
});

test("HTTPS: octopackjs pushes with and without a space, and replace=true replaces", async () => {
  const over = { host: tlsUrl, apikey: tlsKey };
  const body = await octopackPush(Buffer.from("octopack over https"), { ...over, name: "Octopack.Tls.1.0.0.zip" });
  assert.equal(body.Id, "packages-Octopack.Tls.1.0.0");
  const spaced = await octopackPush(Buffer.from("octopack space over https"), {
    ...over,
    name: "Octopack.Tls.2.0.0.tar.gz",
    spaceId: "Spaces-1",
  });
  assert.equal(spaced.FileExtension, ".tar.gz");
  assert.equal(await raw("Octopack.Tls.2.0.0", tlsUrl, tlsKey), "octopack space over https");
  await octopackPush(Buffer.from("replaced over https"), { ...over, name: "Octopack.Tls.1.0.0.zip", replace: true });
  assert.equal(await raw("Octopack.Tls.1.0.0", tlsUrl, tlsKey), "replaced over https");
});

// The migration of the plain-HTTP test above, every request over HTTPS: the export posted to the
// source's HTTPS listener and followed there, its package pushed to the HTTPS-only server (the
// source trusts the CA through --ca-file), the dry run and the import posted to that server and
// followed there, and its projects read back.
test("HTTPS: api-client follows a migration pushed over HTTPS (export, dry run, import)", async () => {
  const exported = ["Inventory Service", "Order API"];
  const source = await Client.create({ instanceURL: sourceTlsUrl, apiKey: sourceKey, userAgentApp: "octomig-client-tests" });
  const exportTask = await postMigration(sourceTlsUrl, sourceKey, "partialexport", exportBody("TlsMigration", exported, tlsUrl, tlsKey));
  await waitForSuccess(source, exportTask.TaskId, "the export");
  const exportLog = await new SpaceServerTaskRepository(source, "Default").getRaw(exportTask.TaskId);
  assert.ok(exportLog.includes(`Pushed TlsMigration.1.0.0.zip to ${tlsUrl}`), exportLog);

  const c = await tlsClient();
  const pkgs = new PackageRepository(c, "Default");
  assert.equal((await pkgs.list({ nuGetPackageId: "TlsMigration" })).TotalResults, 1, "the pushed package is in the HTTPS server's feed");
  const projects = new ProjectRepository(c, "Default");
  const tasks = new SpaceServerTaskRepository(c, "Default");

  const dry = await postMigration(tlsUrl, tlsKey, "import", importBody("TlsMigration", "true"));
  await waitForSuccess(c, dry.TaskId, "the dry run");
  const plan = await tasks.getRaw(dry.TaskId);
  assert.match(plan, /Project\.+create 2, overwrite 0, skip 0$/m, plan);
  assert.equal((await projects.list({ take: 1000 })).TotalResults, 0, "the dry run wrote nothing");

  const real = await postMigration(tlsUrl, tlsKey, "import", importBody("TlsMigration", "false", deleteOnCompletion));
  await waitForSuccess(c, real.TaskId, "the import");
  assert.match(await tasks.getRaw(real.TaskId), /Totals: created \d+, overwritten 0, skipped 0, tasks \d+/);
  assert.deepEqual((await projects.list({ take: 1000 })).Items.map((p) => p.Name).sort(), [...exported].sort());
  assert.equal((await pkgs.list({ nuGetPackageId: "TlsMigration" })).TotalResults, 0, "DeletePackageOnCompletion removes the package");
});

// A feed with a certificate from another CA: the source's push must fail on verification, at once
// (no retries) and before any request reaches the feed.
test("HTTPS: an export to a feed whose certificate the source's CA file does not vouch for fails", async () => {
  let requests = 0;
  const feed = https.createServer({ key: pem("other-server.key"), cert: pem("other-server.pem") }, (req, res) => {
    requests++;
    res.writeHead(500).end();
  });
  // The source aborts the handshake with an alert; this process may hear of it a moment after the
  // task has failed.
  let refusedTimer;
  const refused = Promise.race([
    new Promise((resolve) => feed.once("tlsClientError", () => resolve(true))),
    new Promise((resolve) => (refusedTimer = setTimeout(resolve, 5000, false))),
  ]);
  await new Promise((resolve) => feed.listen(0, "127.0.0.1", resolve));
  try {
    const feedUrl = `https://127.0.0.1:${feed.address().port}`;
    const source = await Client.create({ instanceURL: sourceTlsUrl, apiKey: sourceKey, userAgentApp: "octomig-client-tests" });
    const body = exportBody("UntrustedFeed", ["Web Portal"], feedUrl, "API-UNTRUSTEDFEEDKEY");
    const task = await postMigration(sourceTlsUrl, sourceKey, "partialexport", body);
    const failed = await waitForTask(source, task.TaskId, "the export to an untrusted feed", "Failed");
    assert.match(failed.ErrorMessage, /certificate/i, failed.ErrorMessage);
    const log = await new SpaceServerTaskRepository(source, "Default").getRaw(task.TaskId);
    assert.ok(!/Push attempt \d+ failed/.test(log), `a certificate failure is not retried: ${log}`);
    assert.ok(!log.includes("API-UNTRUSTEDFEEDKEY"), "the destination's key stays out of the log");
    assert.ok(await refused, "the feed did not see the source abort the handshake within 5 s");
    assert.equal(requests, 0, "no request reached the untrusted feed");
  } finally {
    clearTimeout(refusedTimer);
    feed.closeAllConnections();
    await new Promise((resolve) => feed.close(resolve));
  }
});

// Run in a child node process: api-client's Client.create (one GET of /api), then one RESULT line
// with how it went and whether the process had NODE_EXTRA_CA_CERTS.
const connectOnce = String.raw`
const { createRequire } = require("node:module");
const [dir, url, apiKey] = process.argv.slice(1);
const { Client } = createRequire(dir + "/")("@octopusdeploy/api-client");
const quiet = { debug() {}, info() {}, warn() {}, error() {} };
Client.create({ instanceURL: url, apiKey, userAgentApp: "octomig-client-tests", logging: quiet })
  .then(
    () => ({ connected: true }),
    (e) => ({ connected: false, code: e.code ?? (e.cause && e.cause.code) ?? null, message: String(e.message) }),
  )
  .then((r) => process.stdout.write("RESULT " + JSON.stringify({ ...r, extraCa: process.env.NODE_EXTRA_CA_CERTS ?? null }) + "\n"));
`;

// The server sends its certificate without the CA, so a client that does not trust the CA cannot
// build a chain to a root it knows.
const untrusted = "UNABLE_TO_VERIFY_LEAF_SIGNATURE";

test("HTTPS: a client without the test CA fails on the certificate, and the server serves the next request", async () => {
  const rootBefore = await rootRequests(tlsUrl);

  const env = { ...process.env };
  delete env.NODE_EXTRA_CA_CERTS;
  const child = await runNode(connectOnce, [here, tlsUrl, tlsKey], 15000, env);
  const seen = JSON.stringify({ ...child, stderr: child.stderr.slice(0, 2000) });
  assert.equal(child.code, 0, seen);
  assert.ok(child.result, seen);
  assert.equal(child.result.extraCa, null, seen);
  assert.equal(child.result.connected, false, `api-client connected without the CA: ${seen}`);
  assert.equal(child.result.code, untrusted, seen);

  // In this process (which trusts the CA), api-client with an agent that trusts only another CA.
  const agent = new https.Agent({ ca: pem("other-ca.pem") });
  await assert.rejects(
    Client.create({ instanceURL: tlsUrl, apiKey: tlsKey, userAgentApp: "octomig-client-tests", httpsAgent: agent }),
    (e) => (assert.equal(e.code, untrusted, String(e)), true),
  );
  agent.destroy();

  // Node checks the certificate once the handshake is over and closes the connection before
  // writing a byte of the request: neither client's GET /api (nor its API key) reached the server.
  assert.equal(await rootRequests(tlsUrl), rootBefore, "a client that refused the certificate sent its request");

  // And the server serves the next client as before.
  const next = await Client.create({ instanceURL: tlsUrl, apiKey: tlsKey, userAgentApp: "octomig-client-tests" });
  assert.equal(await rootRequests(tlsUrl), rootBefore + 1);
  const list = await new PackageRepository(next, "Default").list({ nuGetPackageId: "ApiClient.Tls" });
  assert.equal(list.TotalResults, 1);
  const again = await runNode(connectOnce, [here, tlsUrl, tlsKey], 15000);
  assert.equal(again.result?.connected, true, JSON.stringify(again));
});
