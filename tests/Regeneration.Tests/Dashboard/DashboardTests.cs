// The executive dashboard in a real browser (Debian's Chromium driven by Playwright) against the
// whole system with the demo portfolio: the maturity level and the charts render, a drill-down works,
// a project manager completes a milestone and the rollup changes. Screenshots land in
// artifacts/screenshots.
using Microsoft.Playwright;
using Regeneration.Tests.Infrastructure;
using Regeneration.Tests.Projects;

namespace Regeneration.Tests.Dashboard;

public class DashboardTests(GatewayServers servers) : IClassFixture<GatewayServers>, IAsyncLifetime
{
    static readonly string Screenshots = Path.Combine(Repository.Root(), "artifacts", "screenshots");
    IPlaywright playwright = null!;
    IBrowser browser = null!;

    public async Task InitializeAsync()
    {
        var chromium = Environment.GetEnvironmentVariable("REGENERATION_CHROMIUM") ?? "/usr/bin/chromium";
        Assert.True(File.Exists(chromium), $"{chromium} is missing: install Debian's chromium (scripts/test.sh does)");
        Directory.CreateDirectory(Screenshots);
        playwright = await Playwright.CreateAsync();
        browser = await playwright.Chromium.LaunchAsync(new BrowserTypeLaunchOptions
        {
            ExecutablePath = chromium, Headless = true,
            Args = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
                "--disable-component-update", "--disable-sync"],
        });
    }

    public async Task DisposeAsync()
    {
        await browser.DisposeAsync();
        playwright.Dispose();
    }

    /// <param name="secureContext">False: as served over plain HTTP on a city's network (not localhost), where the
    /// browser offers no <c>crypto.randomUUID</c>.</param>
    async Task<IPage> SignedIn(string user, int width = 1366, int height = 900, bool secureContext = true)
    {
        var page = await browser.NewPageAsync(new BrowserNewPageOptions { ViewportSize = new ViewportSize { Width = width, Height = height } });
        if (!secureContext) await page.AddInitScriptAsync("delete Crypto.prototype.randomUUID;");
        await page.GotoAsync(servers.GatewayAddress);
        await page.Locator("#demo-user").SelectOptionAsync(new SelectOptionValue { Label = user });
        await Assertions.Expect(page.GetByTestId("signed-in")).ToContainTextAsync(user.Split(' ')[0]);
        // The overview has loaded (or says why not).
        await Assertions.Expect(page.Locator("[data-testid=overall-level], [data-testid=error]")).ToBeVisibleAsync(new() { Timeout = 15_000 });
        if (await page.GetByTestId("error").CountAsync() > 0) Assert.Fail(await page.GetByTestId("error").InnerTextAsync());
        return page;
    }

    [Fact]
    public async Task An_executive_sees_the_level_and_the_charts_and_drills_into_a_project()
    {
        var page = await SignedIn("exec.mayor (executive)");

        await Assertions.Expect(page.GetByTestId("overall-level")).ToHaveTextAsync("3");
        await Assertions.Expect(page.GetByTestId("radar").Locator("polygon")).ToHaveCountAsync(6);
        await Assertions.Expect(page.GetByTestId("burn").Locator("rect")).ToHaveCountAsync(12);
        await Assertions.Expect(page.GetByTestId("slippage").Locator("rect").First).ToBeVisibleAsync();
        await Assertions.Expect(page.GetByTestId("rollup").Locator("tr")).ToHaveCountAsync(17);
        await Assertions.Expect(page.GetByTestId("dimension")).ToHaveCountAsync(9);
        await page.ScreenshotAsync(new PageScreenshotOptions { Path = Path.Combine(Screenshots, "overview-laptop.png"), FullPage = true });

        await page.GetByTestId("project-link").Filter(new LocatorFilterOptions { HasText = "WJ-2019-SS-01" }).ClickAsync();
        await Assertions.Expect(page.GetByTestId("project-title")).ToContainTextAsync("Integrated CCTV control centre");
        await Assertions.Expect(page.GetByTestId("milestones").Locator("tr[data-milestone]")).ToHaveCountAsync(4);
        await Assertions.Expect(page.GetByTestId("history").Locator("tr")).Not.ToHaveCountAsync(1);
        Assert.Equal(0, await page.Locator("button[data-action]").CountAsync());   // executives read only
        await page.ScreenshotAsync(new PageScreenshotOptions { Path = Path.Combine(Screenshots, "project-laptop.png"), FullPage = true });

        var phone = await SignedIn("exec.mayor (executive)", 390, 844);
        await Assertions.Expect(phone.GetByTestId("overall-level")).ToHaveTextAsync("3");
        var overflow = await phone.EvaluateAsync<bool>("document.documentElement.scrollWidth > window.innerWidth + 1");
        Assert.False(overflow, "the page is wider than a phone screen");
        await phone.ScreenshotAsync(new PageScreenshotOptions { Path = Path.Combine(Screenshots, "overview-phone.png"), FullPage = true });
    }

    [Fact]
    public async Task A_project_manager_completes_a_milestone_and_sees_the_rollup_change()
    {
        var page = await SignedIn("pm.seo (project-manager)", secureContext: false);
        Assert.False(await page.EvaluateAsync<bool>("typeof crypto.randomUUID === 'function'"));
        await Assertions.Expect(page.GetByTestId("overall-level")).ToHaveTextAsync("3");
        var row = page.GetByTestId("rollup").Locator("tr").Filter(new LocatorFilterOptions { HasText = "WJ-2023-EN-02" });
        var before = await row.Locator(".bar").First.GetAttributeAsync("title");

        await row.GetByTestId("project-link").ClickAsync();
        var open = page.GetByTestId("milestones").Locator("tr[data-milestone]").Filter(new LocatorFilterOptions { HasText = "Public alert service" });
        var sent = await page.RunAndWaitForRequestAsync(() => open.Locator("button[data-action=complete]").ClickAsync(), r => r.Method == "POST");
        await Assertions.Expect(page.GetByTestId("message")).ToContainTextAsync("Saved");
        // Its idempotency key is a random (version 4) UUID all the same.
        Assert.Matches("^ui-[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$", await sent.HeaderValueAsync("idempotency-key"));
        await Assertions.Expect(open).ToContainTextAsync("COMPLETED");
        await page.ScreenshotAsync(new PageScreenshotOptions { Path = Path.Combine(Screenshots, "project-manager-completed.png"), FullPage = true });

        // Back on the overview the rollup follows (the KPI service reads the change feed in the background).
        await page.GotoAsync(servers.GatewayAddress + "#/");
        for (var attempt = 0; attempt < 40; attempt++)
        {
            if (attempt > 0) await page.ReloadAsync();
            await Assertions.Expect(page.GetByTestId("overall-level")).ToBeVisibleAsync();
            if (await row.Locator(".bar").First.GetAttributeAsync("title") != before) break;
            await Task.Delay(250);
        }
        Assert.NotEqual(before, await row.Locator(".bar").First.GetAttributeAsync("title"));

        // Another manager's project offers no editing, and the API refuses it anyway.
        await page.GotoAsync(servers.GatewayAddress + "#/");
        await page.GetByTestId("project-link").Filter(new LocatorFilterOptions { HasText = "WJ-2019-SS-01" }).ClickAsync();
        await Assertions.Expect(page.GetByTestId("project-title")).ToBeVisibleAsync();
        Assert.Equal(0, await page.Locator("button[data-action]").CountAsync());
    }
}
