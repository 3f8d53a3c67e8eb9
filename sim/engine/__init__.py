"""The SimPy discrete-event engine: a small kernel and one module per subsystem.

- `kernel`: clock, phased events (one fixed order for same-hour events), keyed random streams,
  event counting; `simulation`: one run from a world-state snapshot, composed of the parts:
- `presence` (who stands where), `movement` (units' legs and limited slots), `contact`
  (columns meeting on routes), `combat` (battles, attrition, breaking contact), `fires` (air
  sorties and shore salvos), `sensing` (scans and reports), `logistics` (supply and convoys),
  `orders` (taskings to paths and postures before a run).

Each part owns its share of the run's state and registers its processes with the kernel;
everything that must outlive a run is in the `WorldState` (see `sim.state`).
"""

from sim.engine.fires import AIR_LOSS_PER_SORTIE
from sim.engine.kernel import EventBudgetExceeded
from sim.engine.orders import apply_orders
from sim.engine.simulation import Simulation

__all__ = ["AIR_LOSS_PER_SORTIE", "EventBudgetExceeded", "Simulation", "apply_orders"]
