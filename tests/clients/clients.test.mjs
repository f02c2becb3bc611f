// The real Octopus JavaScript clients against a real octomigd (started by run.sh, which passes
// OCTOMIG_URL and OCTOMIG_API_KEY, and OCTOMIG_SOURCE_URL and OCTOMIG_SOURCE_API_KEY for a seeded
// source server). One test() per client behaviour, so that more (resource CRUD) can be added
// beside them.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
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
if (!url || !apiKey) throw new Error("OCTOMIG_URL and OCTOMIG_API_KEY must be set (tests/clients/run.sh sets them)");

let client;
let workDir;

// A file whose bytes say which push wrote it.
function packageFile(name, text) {
  const p = path.join(workDir, name);
  fs.writeFileSync(p, text);
  return p;
}

async function raw(id) {
  const r = await fetch(`${url}/api/Spaces-1/packages/${id}/raw`, { headers: { "X-Octopus-ApiKey": apiKey } });
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

// Runs pushAndExit; kills it if it has not exited after limitMs. Resolves with what it printed, when
// the push resolved and when it exited (ms since the start), and how it ended.
function runPushChild(file, limitMs) {
  const dir = path.dirname(fileURLToPath(import.meta.url));
  return new Promise((resolve, reject) => {
    const t0 = Date.now();
    const child = spawn(process.execPath, ["-e", pushAndExit, dir, url, apiKey, file], { stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    let pushedAt;
    child.stdout.on("data", (d) => {
      stdout += d;
      if (pushedAt === undefined && /^RESULT /m.test(stdout)) pushedAt = Date.now() - t0;
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
      resolve({ result: line && JSON.parse(line.slice(7)), pushedAt, exitedAt: Date.now() - t0, code, signal, stderr });
    });
  });
}

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
  const lingered = child.exitedAt - child.pushedAt;
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

// api-client's ServerTaskWaiter until the task completes; asserts it succeeded and that the states
// it saw came in the order Queued -> Executing -> Success, Executing among them (run.sh pauses a
// step of each migration for that). Answers the completed task.
async function waitForSuccess(octopus, taskId, what) {
  const seen = [];
  const task = await new ServerTaskWaiter(octopus, "Default").waitForServerTaskToComplete(taskId, 100, 60000, (t) => {
    if (seen[seen.length - 1] !== t.State) seen.push(t.State);
  });
  assert.equal(task.State, "Success", `${what} ended ${task.State}: ${task.ErrorMessage}`);
  const order = ["Queued", "Executing", "Success"];
  assert.ok(seen.includes("Executing"), `the waiter never saw ${what} executing: ${seen}`);
  for (let i = 1; i < seen.length; i++)
    assert.ok(order.indexOf(seen[i - 1]) < order.indexOf(seen[i]), `${what}: states out of order: ${seen}`);
  assert.equal(seen[seen.length - 1], "Success");
  return task;
}

function exportBody(packageId, projects) {
  return JSON.stringify({
    PackageId: packageId,
    PackageVersion: "1.0.0",
    Password: "Demo1234",
    Projects: projects,
    EncryptPackage: true,
    IncludeTaskLogs: true,
    DestinationApiKey: apiKey,
    DestinationPackageFeed: url,
  });
}

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

  // The import body as the documentation's raw request has it: IsDryRun as a string, a // comment
  // and a trailing comma.
  const importBody = (dryRun, extra = "") => `{
    "PackageId": "ClientsMigration",
    "PackageVersion": "1.0.0",
    "Password": "Demo1234",
    "IsDryRun": "${dryRun}", // false once the dry run's plan has been reviewed
    "IsEncryptedPackage": true,${extra}
}`;
  const tasks = new SpaceServerTaskRepository(client, "Default");

  const dry = await postMigration(url, apiKey, "import", importBody("true"));
  assert.equal(dry.IsDryRun, true);
  await waitForSuccess(client, dry.TaskId, "the dry run");
  const plan = await tasks.getRaw(dry.TaskId);
  assert.match(plan, /Project\.+create 2, overwrite 0, skip 0$/m, plan);
  assert.match(plan, /Totals: create \d+, overwrite 0, skip 0, tasks \d+ \(dry run: nothing was written\)/, plan);
  for (const name of exported) assert.ok(!(await projectNames()).includes(name), `the dry run wrote ${name}`);

  const real = await postMigration(url, apiKey, "import", importBody("false", '\n    "DeletePackageOnCompletion": true,'));
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
