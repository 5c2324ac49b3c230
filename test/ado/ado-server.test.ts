import assert from "node:assert/strict";
import { getHandlerFromToken, WebApi } from "azure-devops-node-api";
import type { AdoServer } from "../../sim/ado/server";
import { addBuild, addProject, addReleaseApproval, addRepository, adoIdentity } from "../../sim/ado/state";
import { builtCommit, jobToken, projectName, startSeededAdo } from "./ado-fixture";

const bearer = { authorization: `Bearer ${jobToken}`, "x-tfs-fedauthredirect": "Suppress" };

describe("fake Azure DevOps server", () => {
  let ado: AdoServer;

  afterEach(() => ado.close());

  describe("as Azure DevOps Services", () => {
    beforeEach(async () => {
      ado = await startSeededAdo((state) => {
        const project = addProject(state, projectName);
        addRepository(project, "orders-service", {
          refs: [{ name: "refs/heads/main", objectId: builtCommit }],
        });
        addBuild(project, 5, [{ identifier: "Prod" }]);
        addReleaseApproval(project, {
          id: 1,
          releaseId: 2,
          environmentId: 3,
          environmentName: "Prod",
          approver: adoIdentity("Ann"),
        });
      });
    });

    it("publishes route templates and versions for the client to negotiate with", async () => {
      const res = await fetch(`${ado.url}_apis/git`, { method: "OPTIONS", headers: bearer });
      const body = (await res.json()) as { count: number; value: Array<Record<string, unknown>> };

      assert.equal(res.status, 200);
      assert.deepEqual(
        body.value.map((l) => [l.id, l.routeTemplate, l.maxVersion, l.releasedVersion]),
        [
          [
            "2d874a60-a811-4f62-9c9f-963a6ea0a55b",
            "{project}/_apis/{area}/repositories/{repositoryId}/{resource}/{*filter}",
            "7.2",
            "7.1",
          ],
          [
            "225f7195-f9c7-4d14-ab28-a83f7ff77e1f",
            "{project}/_apis/{area}/{resource}/{repositoryId}",
            "7.2",
            "7.1",
          ],
        ],
      );
    });

    it("places release management on its own host in the resource areas", async () => {
      const res = await fetch(`${ado.url}_apis/ResourceAreas?api-version=7.2-preview.1`, { headers: bearer });
      const areas = ((await res.json()) as { value: Array<{ name: string; locationUrl: string }> }).value;

      assert.equal(areas.find((a) => a.name === "git")?.locationUrl, ado.url);
      assert.equal(areas.find((a) => a.name === "Release")?.locationUrl, ado.releaseUrl);
      assert.match(ado.releaseUrl, /\/vsrm\/DefaultCollection\/$/);
    });

    it("answers 401 without a known token, and the sign-in page (203) without the Suppress header", async () => {
      const wrong = await fetch(`${ado.url}_apis/git`, {
        method: "OPTIONS",
        headers: { ...bearer, authorization: "Bearer nope" },
      });
      const anonymous = await fetch(`${ado.url}_apis/git`, { method: "OPTIONS" });

      assert.equal(wrong.status, 401);
      assert.match(((await wrong.json()) as { message: string }).message, /^TF400813/);
      assert.equal(anonymous.status, 203);
      assert.match(anonymous.headers.get("content-type") ?? "", /text\/html/);
    });

    const versionCases: Array<[string, number, RegExp | undefined]> = [
      ["", 400, /^No api-version was supplied for the "GET" request/],
      ["api-version=7.2", 400, /under preview\. The -preview flag must be supplied/],
      [
        "api-version=9.0",
        400,
        /out of range for this server\. The latest REST API version this server supports is 7\.2\./,
      ],
      ["api-version=7.1", 200, undefined],
      ["api-version=7.2-preview.2", 200, undefined],
    ];
    for (const [query, status, message] of versionCases) {
      it(`checks the api-version like Azure DevOps: '${query}' → ${status}`, async () => {
        const res = await fetch(
          `${ado.url}${projectName}/_apis/git/repositories/orders-service/refs?${query}`,
          { headers: bearer },
        );
        const body = (await res.json()) as { message?: string };

        assert.equal(res.status, status);
        if (message) assert.match(body.message ?? "", message);
      });
    }

    it("records requests with the token redacted", async () => {
      const api = new WebApi(ado.url, getHandlerFromToken(jobToken));
      const git = await api.getGitApi();
      await git.getRefs("orders-service", projectName, "heads/");

      const refs = ado.requests.at(-1);
      assert.equal(refs?.headers.authorization, "Bearer [redacted]");
      assert.ok(!JSON.stringify(ado.requests).includes(jobToken));
      assert.deepEqual(refs?.query, { filter: "heads/" });
      assert.equal(refs?.status, 200);
    });

    it("answers unknown projects and repositories with Azure DevOps' 404 messages", async () => {
      const project = await fetch(`${ado.url}Nope/_apis/git/repositories/x/refs?api-version=7.1`, {
        headers: bearer,
      });
      const repo = await fetch(`${ado.url}${projectName}/_apis/git/repositories/x/refs?api-version=7.1`, {
        headers: bearer,
      });

      assert.match(
        ((await project.json()) as { message: string }).message,
        /^TF200016: The following project does not exist: Nope\./,
      );
      assert.match(
        ((await repo.json()) as { message: string }).message,
        /^TF401019: The Git repository with name or identifier x does not exist/,
      );
    });

    it("lists only pending release approvals unless told otherwise", async () => {
      const url = `${ado.releaseUrl}${projectName}/_apis/Release/approvals?api-version=7.1`;
      const pending = (await (await fetch(url, { headers: bearer })).json()) as { count: number };
      const approved = (await (await fetch(`${url}&statusFilter=approved`, { headers: bearer })).json()) as {
        count: number;
      };

      assert.deepEqual([pending.count, approved.count], [0, 1]);
    });
  });

  it("as Azure DevOps Server lists no resource areas and serves everything at the collection", async () => {
    ado = await startSeededAdo(
      (state) => {
        const project = addProject(state, projectName);
        addReleaseApproval(project, {
          id: 1,
          releaseId: 2,
          environmentId: 3,
          environmentName: "Prod",
          approver: adoIdentity("Ann"),
        });
      },
      { deployment: "server" },
    );
    const api = new WebApi(ado.url, getHandlerFromToken(jobToken));
    const release = await api.getReleaseApi();
    const approvals = await release.getApprovals(projectName, undefined, 2, [2]);

    assert.equal(approvals.length, 1);
    assert.ok(ado.requests.every((r) => r.host === "collection"));
  });
});
