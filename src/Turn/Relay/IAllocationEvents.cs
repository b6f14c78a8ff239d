namespace Turn.Relay;

/// <summary>Told when an allocation starts and ends, e.g. to count them.</summary>
internal interface IAllocationEvents
{
    void Created(Allocation allocation);

    void Ended(Allocation allocation, AllocationEnd reason, long nowMs);
}
