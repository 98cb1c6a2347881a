// Domain <-> contract. The domain's enums share the contract's numbers, so enum mapping is a cast.
using JasperFx.Events;
using Regeneration.ServiceDefaults;
using V1 = Regeneration.Projects.V1;

namespace Regeneration.Projects;

static class ProtoMapping
{
    public static V1.Project ToProto(this Project p) => new()
    {
        Id = p.Id.ToString(), Code = p.Code, Name = p.Name, Description = p.Description, District = p.District,
        Category = (V1.ProjectCategory)p.Category, Owner = p.Owner, PlannedStart = p.PlannedStart.Iso(),
        PlannedEnd = p.PlannedEnd.Iso(), Status = (V1.ProjectStatus)p.Status, Version = p.Version,
        Contributions = { p.Contributions.Select(ToProto) },
        Milestones = { p.Milestones.Select(ToProto) },
    };

    static V1.Milestone ToProto(Milestone m) => new()
    {
        Id = m.Id.ToString(), Name = m.Name, Weight = m.Weight, BaselineDueDate = m.BaselineDueDate.Iso(),
        ForecastDate = m.ForecastDate.Iso(), Progress = m.Progress, Status = (V1.MilestoneStatus)m.Status,
        CompletedOn = m.CompletedOn?.Iso() ?? "", RebaselineCount = m.RebaselineCount,
    };

    public static V1.MaturityContribution ToProto(Contribution c) => new() { Dimension = c.Dimension, Weight = c.Weight };

    public static IReadOnlyList<Contribution> ToDomain(this IEnumerable<V1.MaturityContribution> items) =>
        [.. items.Select(c => new Contribution(c.Dimension, c.Weight))];

    public static V1.ProjectEvent ToProto(this IEvent e)
    {
        var result = new V1.ProjectEvent
        {
            Envelope = e.ToEnvelope(),
        };
        switch (e.Data)
        {
            case ProjectRegistered x:
                result.ProjectRegistered = new V1.ProjectRegistered
                {
                    Code = x.Code, Name = x.Name, Description = x.Description, District = x.District,
                    Category = (V1.ProjectCategory)x.Category, Owner = x.Owner, PlannedStart = x.PlannedStart.Iso(),
                    PlannedEnd = x.PlannedEnd.Iso(), Contributions = { x.Contributions.Select(ToProto) },
                };
                break;
            case ProjectDetailsRevised x:
                result.ProjectDetailsRevised = new V1.ProjectDetailsRevised
                {
                    Name = x.Name, Description = x.Description, District = x.District, Owner = x.Owner,
                    PlannedStart = x.PlannedStart.Iso(), PlannedEnd = x.PlannedEnd.Iso(),
                    Contributions = { x.Contributions.Select(ToProto) },
                };
                break;
            case ProjectStatusChanged x:
                result.ProjectStatusChanged = new V1.ProjectStatusChanged
                {
                    From = (V1.ProjectStatus)x.From, To = (V1.ProjectStatus)x.To, Reason = x.Reason,
                };
                break;
            case MilestonePlanned x:
                result.MilestonePlanned = new V1.MilestonePlanned
                {
                    MilestoneId = x.MilestoneId.ToString(), Name = x.Name, Weight = x.Weight, DueDate = x.DueDate.Iso(),
                };
                break;
            case MilestoneProgressReported x:
                result.MilestoneProgressReported = new V1.MilestoneProgressReported
                {
                    MilestoneId = x.MilestoneId.ToString(), Progress = x.Progress, PreviousProgress = x.PreviousProgress,
                    ForecastDate = x.ForecastDate?.Iso() ?? "", Reason = x.Reason,
                };
                break;
            case MilestoneCompleted x:
                result.MilestoneCompleted = new V1.MilestoneCompleted
                {
                    MilestoneId = x.MilestoneId.ToString(), CompletedOn = x.CompletedOn.Iso(),
                };
                break;
            case MilestoneRescheduled x:
                result.MilestoneRescheduled = new V1.MilestoneRescheduled
                {
                    MilestoneId = x.MilestoneId.ToString(), PreviousDueDate = x.PreviousDueDate.Iso(),
                    NewDueDate = x.NewDueDate.Iso(), Reason = x.Reason,
                };
                break;
        }
        return result;
    }
}
