// The demo portfolio: a mid-sized Korean city certified at ISO 37106 Level III (mature), carried by
// integrated CCTV control, ITS, personal-information management and smart regeneration — with
// projects in every status and milestones in every state (not started, in progress, completed,
// re-baselined), so every screen and query has something real to show.
using Grpc.Core;
using Regeneration.Projects.V1;

namespace Regeneration.DemoData;

public static class DemoPortfolio
{
    public sealed record Summary(int Projects, int Milestones, int Written, int Replayed, int Refused, int Skipped);

    record M(string Name, int Weight, string Due, int Progress = 0, string? CompletedOn = null,
        string? RebaselinedTo = null, string? Reason = null, string? Forecast = null);

    record P(string Code, string Name, string Description, string District, ProjectCategory Category, string Owner,
        string Start, string End, ProjectStatus Status, (string Dimension, int Weight)[] Dimensions, M[] Milestones,
        string? StatusReason = null);

    static readonly P[] Projects =
    [
        new("WJ-2019-SS-01", "Integrated CCTV control centre", "One 24/7 control room for 3,200 police, traffic and crime-prevention cameras, linked to 112/119 dispatch.",
            "Myeongnyun-dong", ProjectCategory.SmartSafety, "pm.kim", "2019-03-01", "2026-12-31", ProjectStatus.Active,
            [("safety-resilience", 70), ("digital-platform", 30)],
            [new("Control room construction", 30, "2020-06-30", CompletedOn: "2020-06-12"),
             new("Camera integration, phase 1 (1,800 cameras)", 30, "2021-12-31", CompletedOn: "2022-02-15"),
             new("Police and fire dispatch link", 20, "2023-06-30", CompletedOn: "2023-05-30"),
             new("AI video analytics", 20, "2026-06-30", Progress: 65, Forecast: "2026-12-15")]),
        new("WJ-2020-SS-02", "Smart streetlights and emergency bells", "Adaptive LED streetlights with emergency bells and voice links to the control centre on 40 km of school routes.",
            "Dangu-dong", ProjectCategory.SmartSafety, "pm.choi", "2020-04-01", "2026-10-31", ProjectStatus.Active,
            [("safety-resilience", 60), ("citizen-centricity", 20), ("urban-resources", 20)],
            [new("Route survey with schools", 15, "2020-09-30", CompletedOn: "2020-09-21"),
             new("Lighting installation", 45, "2022-12-31", CompletedOn: "2023-03-10"),
             new("Emergency bell network", 40, "2024-12-31", Progress: 80, RebaselinedTo: "2026-10-31", Reason: "Telecom duct works delayed by the road authority")]),
        new("WJ-2019-MO-01", "Intelligent transport system, phase 1", "Traffic information centre, 120 signal controllers and variable message signs on the arterial roads.",
            "Wonju-si (city-wide)", ProjectCategory.SmartMobility, "pm.lee", "2019-01-01", "2022-12-31", ProjectStatus.Completed,
            [("mobility", 80), ("digital-platform", 20)],
            [new("Traffic information centre", 40, "2020-12-31", CompletedOn: "2020-11-30"),
             new("Signal controllers", 40, "2022-06-30", CompletedOn: "2022-06-20"),
             new("Variable message signs", 20, "2022-12-31", CompletedOn: "2022-12-05")]),
        new("WJ-2021-MO-02", "ITS phase 2: adaptive signals and bus information", "Adaptive signal control at 85 junctions, real-time bus arrival at 400 stops, priority for emergency vehicles.",
            "Wonju-si (city-wide)", ProjectCategory.SmartMobility, "pm.lee", "2021-07-01", "2026-12-31", ProjectStatus.Active,
            [("mobility", 70), ("citizen-centricity", 30)],
            [new("Junction detectors", 25, "2022-12-31", CompletedOn: "2023-01-20"),
             new("Adaptive signal control", 35, "2024-12-31", Progress: 70, RebaselinedTo: "2025-12-31", Reason: "Controller firmware certification by the police agency"),
             new("Bus information system", 25, "2025-06-30", CompletedOn: "2025-06-18"),
             new("Emergency vehicle priority", 15, "2026-09-30")]),
        new("WJ-2022-MO-03", "Demand-responsive transit pilot", "On-demand minibuses for the rural north-east, booked by app and phone.",
            "Hojeo-myeon", ProjectCategory.SmartMobility, "pm.jung", "2022-03-01", "2025-12-31", ProjectStatus.OnHold,
            [("mobility", 60), ("citizen-centricity", 40)],
            [new("Operator procurement", 30, "2022-12-31", CompletedOn: "2023-02-01"),
             new("Booking platform", 40, "2023-12-31", Progress: 55),
             new("Pilot operation", 30, "2025-06-30")],
            StatusReason: "Provincial co-funding for 2026 not yet confirmed"),
        new("WJ-2020-UR-01", "Hakseong-dong urban regeneration", "New-deal regeneration of the old station district: community hub, shared parking, rooftop solar, alley safety.",
            "Hakseong-dong", ProjectCategory.UrbanRegeneration, "pm.park", "2020-01-01", "2025-12-31", ProjectStatus.Active,
            [("urban-resources", 40), ("citizen-centricity", 30), ("benefits-realisation", 30)],
            [new("Residents' council and master plan", 15, "2020-12-31", CompletedOn: "2020-12-18"),
             new("Community hub building", 35, "2023-06-30", CompletedOn: "2023-09-27"),
             new("Shared parking and alley safety", 30, "2024-12-31", Progress: 90),
             new("Rooftop solar cooperative", 20, "2025-12-31", Progress: 40, Forecast: "2026-06-30")]),
        new("WJ-2021-SR-03", "Bongsan-dong smart regeneration", "Smart-city solutions in a regeneration area: IoT safety sensors, smart bus shelters, a data-driven residents' dashboard.",
            "Bongsan-dong", ProjectCategory.UrbanRegeneration, "pm.park", "2021-05-01", "2026-12-31", ProjectStatus.Active,
            [("urban-resources", 30), ("safety-resilience", 20), ("digital-platform", 20), ("citizen-centricity", 30)],
            [new("Living-lab design with residents", 20, "2021-12-31", CompletedOn: "2021-12-10"),
             new("IoT safety sensors", 30, "2023-12-31", CompletedOn: "2024-03-29"),
             new("Smart bus shelters", 25, "2025-06-30", Progress: 60, RebaselinedTo: "2026-03-31", Reason: "Design change requested by the residents' council"),
             new("Residents' data dashboard", 25, "2026-09-30", Progress: 20)]),
        new("WJ-2022-UR-04", "Jungang-dong old downtown regeneration", "Market modernisation, vacant-shop start-up space and pedestrian streets in the old downtown.",
            "Jungang-dong", ProjectCategory.UrbanRegeneration, "pm.han", "2022-01-01", "2027-06-30", ProjectStatus.Active,
            [("urban-resources", 50), ("benefits-realisation", 30), ("citizen-centricity", 20)],
            [new("Market modernisation", 35, "2024-06-30", CompletedOn: "2024-08-14"),
             new("Start-up space in vacant shops", 25, "2025-06-30", Progress: 75),
             new("Pedestrian streets", 40, "2026-12-31", Progress: 10, RebaselinedTo: "2027-06-30", Reason: "Archaeological survey required under the street")]),
        new("WJ-2024-UR-05", "Wonin-dong housing regeneration", "Repair of 300 ageing homes, a care centre for older residents and energy retrofits.",
            "Wonin-dong", ProjectCategory.UrbanRegeneration, "pm.han", "2025-03-01", "2029-12-31", ProjectStatus.Planned,
            [("urban-resources", 50), ("citizen-centricity", 50)],
            [new("Housing condition survey", 20, "2026-12-31"),
             new("Care centre", 40, "2028-06-30"),
             new("Energy retrofits", 40, "2029-12-31")]),
        new("WJ-2020-DG-01", "Personal information management system", "Privacy governance for every city system holding personal data: inventory, impact assessments, access logging and pseudonymisation.",
            "Wonju City Hall", ProjectCategory.DataGovernance, "pm.yoon", "2020-02-01", "2024-12-31", ProjectStatus.Completed,
            [("privacy-data", 80), ("leadership-governance", 20)],
            [new("Personal data inventory", 25, "2020-12-31", CompletedOn: "2020-12-22"),
             new("Privacy impact assessments", 25, "2022-06-30", CompletedOn: "2022-06-28"),
             new("Access logging and monitoring", 30, "2023-12-31", CompletedOn: "2024-02-16"),
             new("Pseudonymisation service", 20, "2024-12-31", CompletedOn: "2024-11-29")]),
        new("WJ-2022-DG-02", "City data platform and open data portal", "One platform for the city's operational data, with an open data portal and APIs for citizens and businesses.",
            "Wonju City Hall", ProjectCategory.DataGovernance, "pm.yoon", "2022-01-01", "2026-12-31", ProjectStatus.Active,
            [("digital-platform", 60), ("privacy-data", 20), ("vision-roadmap", 20)],
            [new("Data governance board and road-map", 20, "2022-06-30", CompletedOn: "2022-06-30"),
             new("Platform core", 40, "2024-06-30", CompletedOn: "2024-10-31"),
             new("Open data portal", 25, "2025-12-31", Progress: 85),
             new("Third-party APIs", 15, "2026-12-31", Progress: 5)]),
        new("WJ-2021-EN-01", "Smart water leakage monitoring", "Acoustic leak sensors and smart meters on 600 km of water mains.",
            "Wonju-si (city-wide)", ProjectCategory.EnvironmentEnergy, "pm.seo", "2021-03-01", "2026-06-30", ProjectStatus.Active,
            [("urban-resources", 70), ("benefits-realisation", 30)],
            [new("District metered areas", 30, "2022-06-30", CompletedOn: "2022-05-31"),
             new("Acoustic leak sensors", 40, "2024-06-30", CompletedOn: "2024-12-20"),
             new("Smart meters for large consumers", 30, "2026-06-30", Progress: 50, Forecast: "2026-12-31")]),
        new("WJ-2023-EN-02", "Air quality sensor network", "200 low-cost air quality sensors with public alerts for fine dust.",
            "Wonju-si (city-wide)", ProjectCategory.EnvironmentEnergy, "pm.seo", "2023-04-01", "2026-03-31", ProjectStatus.Active,
            [("urban-resources", 50), ("citizen-centricity", 30), ("digital-platform", 20)],
            [new("Sensor procurement", 30, "2023-12-31", CompletedOn: "2024-01-15"),
             new("Sensor deployment", 40, "2025-03-31", Progress: 85, RebaselinedTo: "2025-12-31", Reason: "Mounting permits on private buildings"),
             new("Public alert service", 30, "2026-03-31")]),
        new("WJ-2021-CS-01", "Citizen one-stop service app", "One app for civil complaints, certificates, facility booking and local currency.",
            "Wonju City Hall", ProjectCategory.CitizenServices, "pm.choi", "2021-01-01", "2025-12-31", ProjectStatus.Active,
            [("citizen-centricity", 70), ("digital-platform", 30)],
            [new("Complaints and certificates", 40, "2022-06-30", CompletedOn: "2022-06-15"),
             new("Facility booking", 30, "2023-12-31", CompletedOn: "2023-12-01"),
             new("Local currency wallet", 30, "2025-12-31", Progress: 95)]),
        new("WJ-2023-CS-02", "Drone parcel delivery pilot", "Drone delivery of medicines to mountain villages.",
            "Sillim-myeon", ProjectCategory.CitizenServices, "pm.jung", "2023-06-01", "2025-06-30", ProjectStatus.Cancelled,
            [("citizen-centricity", 60), ("mobility", 40)],
            [new("Flight corridor approval", 50, "2024-03-31", Progress: 30)],
            StatusReason: "Flight corridor refused by the aviation authority"),
        new("WJ-2020-DI-01", "Public Wi-Fi and IoT backbone", "Free public Wi-Fi in 180 places and a city-wide LoRa network for sensors.",
            "Wonju-si (city-wide)", ProjectCategory.DigitalInfrastructure, "pm.kang", "2020-01-01", "2025-12-31", ProjectStatus.Active,
            [("digital-platform", 70), ("vision-roadmap", 30)],
            [new("Smart city master plan", 20, "2020-06-30", CompletedOn: "2020-06-25"),
             new("Public Wi-Fi", 40, "2022-12-31", CompletedOn: "2022-11-30"),
             new("LoRa IoT network", 40, "2025-12-31", Progress: 70)]),
    ];

    /// <summary>Loads the portfolio, and the budgets and indicators when those clients are given.</summary>
    public static async Task<Summary> SeedAsync(ProjectService.ProjectServiceClient client,
        Regeneration.Budget.V1.BudgetService.BudgetServiceClient? budget = null,
        Regeneration.Kpi.V1.KpiService.KpiServiceClient? kpi = null, CancellationToken cancellation = default)
    {
        var counts = new DemoBudgets.Counts();
        void Count(Regeneration.Common.V1.CommandResult r) { if (r.Replayed) counts.Replayed++; else counts.Written++; }
        var options = new CallOptions(cancellationToken: cancellation);

        foreach (var p in Projects)
        {
            string Id(string step) => $"demo:{p.Code}:{step}";
            var register = new RegisterProjectRequest
            {
                RequestId = Id("register"), Code = p.Code, Name = p.Name, Description = p.Description, District = p.District,
                Category = p.Category, Owner = p.Owner, PlannedStart = p.Start, PlannedEnd = p.End,
                Contributions = { p.Dimensions.Select(d => new MaturityContribution { Dimension = d.Dimension, Weight = d.Weight }) },
            };
            Regeneration.Common.V1.CommandResult registered;
            try { registered = (await client.RegisterProjectAsync(register, options)).Result; }
            catch (RpcException e) when (e.StatusCode == StatusCode.AlreadyExists)
            {
                // Its code is taken but this loader has no receipt for it: an earlier version of the loader (another
                // caller identity) loaded it. It is left as it is: loading it again could only write duplicates.
                counts.Skipped++;
                continue;
            }
            Count(registered);
            var projectId = registered.StreamId;

            var milestoneIds = new List<string>();
            for (var i = 0; i < p.Milestones.Length; i++)
            {
                var m = p.Milestones[i];
                var planned = (await client.PlanMilestoneAsync(new PlanMilestoneRequest
                {
                    RequestId = Id($"m{i}:plan"), ProjectId = projectId, Name = m.Name, Weight = m.Weight, DueDate = m.Due,
                }, options)).Result;
                Count(planned);
                milestoneIds.Add(planned.EntityId);
            }
            var work = p.Milestones.Select(m => new DemoBudgets.MilestoneWork(m.RebaselinedTo ?? m.Due, m.Weight, m.Progress, m.CompletedOn)).ToList();
            if (budget is not null)
                await DemoBudgets.SeedAsync(budget, p.Code, projectId, int.Parse(p.Start[..4]), int.Parse(p.End[..4]),
                    committed: p.Status != ProjectStatus.Planned, work, counts, options);
            if (kpi is not null) await DemoKpis.SeedAsync(kpi, p.Code, projectId, counts, options);
            if (p.Status == ProjectStatus.Planned) continue;

            Count((await client.ChangeProjectStatusAsync(new ChangeProjectStatusRequest
            {
                RequestId = Id("activate"), ProjectId = projectId, Status = ProjectStatus.Active,
            }, options)).Result);

            for (var i = 0; i < p.Milestones.Length; i++)
            {
                var m = p.Milestones[i];
                if (m.RebaselinedTo is not null)
                    Count((await client.RebaselineMilestoneAsync(new RebaselineMilestoneRequest
                    {
                        RequestId = Id($"m{i}:rebaseline"), ProjectId = projectId, MilestoneId = milestoneIds[i],
                        NewDueDate = m.RebaselinedTo, Reason = m.Reason ?? "",
                    }, options)).Result);
                if (m.Progress > 0 || m.Forecast is not null)
                    Count((await client.ReportMilestoneProgressAsync(new ReportMilestoneProgressRequest
                    {
                        RequestId = Id($"m{i}:progress"), ProjectId = projectId, MilestoneId = milestoneIds[i],
                        Progress = m.Progress, ForecastDate = m.Forecast ?? "",
                    }, options)).Result);
                if (m.CompletedOn is not null)
                    Count((await client.CompleteMilestoneAsync(new CompleteMilestoneRequest
                    {
                        RequestId = Id($"m{i}:complete"), ProjectId = projectId, MilestoneId = milestoneIds[i], CompletedOn = m.CompletedOn,
                    }, options)).Result);
            }

            if (p.Status != ProjectStatus.Active)
                Count((await client.ChangeProjectStatusAsync(new ChangeProjectStatusRequest
                {
                    RequestId = Id("final-status"), ProjectId = projectId, Status = p.Status, Reason = p.StatusReason ?? "",
                }, options)).Result);
        }
        return new Summary(Projects.Length, Projects.Sum(p => p.Milestones.Length), counts.Written, counts.Replayed, counts.Refused, counts.Skipped);
    }
}
