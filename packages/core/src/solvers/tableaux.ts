/** Butcher tableaux are data in the tfjs-free `@nfdm/numerics`; `@nfdm/core/tableaux` re-exports them. */
export {
  BOSH3,
  type ButcherTableau,
  DOPRI5,
  EULER,
  HEUN,
  MIDPOINT,
  RK4,
  RK4_38,
  TABLEAUX,
  TSIT5,
  validateTableau,
} from '@nfdm/numerics/tableaux';
